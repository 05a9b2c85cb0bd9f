"""The background job queue (huey): embedded in the app process by default, on Redis at scale.

Jobs are plain functions registered with ``@job``; ``enqueue(fn, ...)`` runs one in the background
with an app context of the current app. Each app has its own queue (``app.extensions``), so
several apps in one process (tests) never share one. ``QUEUE_IMMEDIATE`` runs jobs at once in the
caller (tests). ``@job(schedule={"minute": "*/15"})`` also runs a job without arguments on that
crontab schedule (UTC) in every worker: such a job must be safe to run twice at the same time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer

log = logging.getLogger(__name__)

#: Every job of the code base with its options, registered at import time.
_registered: list[tuple[Callable[..., Any], dict[str, Any]]] = []


def job(
    retries: int = 3, retry_delay: int = 30, schedule: dict[str, str] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` as a job; call ``enqueue(fn, ...)`` to run it in the background.

    ``schedule`` (huey's ``crontab`` fields, e.g. ``{"minute": "*/15"}``) makes it periodic too.
    """

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        _registered.append(
            (fn, {"retries": retries, "retry_delay": retry_delay, "schedule": schedule})
        )
        return fn

    return decorator


def task_name(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__name__}"


def _bind(
    app: Flask, queue: Huey, fn: Callable[..., Any], schedule: dict[str, str] | None, **options: Any
) -> TaskWrapper:
    def run_in_app(*args: Any, **kwargs: Any) -> Any:
        # Immediate mode runs inside the caller's context; a worker thread needs its own.
        if has_app_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
            return fn(*args, **kwargs)
        with app.app_context():
            return fn(*args, **kwargs)

    run_in_app.__name__ = fn.__name__
    run_in_app.__qualname__ = fn.__qualname__
    run_in_app.__module__ = fn.__module__
    name = task_name(fn)
    if schedule:
        return queue.periodic_task(crontab(**schedule), name=name, **options)(run_in_app)
    return queue.task(name=name, **options)(run_in_app)


def _tasks() -> dict[str, TaskWrapper]:
    tasks: dict[str, TaskWrapper] = current_app.extensions["ilms_tasks"]
    missing = [(fn, options) for fn, options in _registered if task_name(fn) not in tasks]
    if missing:
        # Jobs in modules imported after the app was built are bound on first use.
        app, queue = current_app._get_current_object(), current_app.extensions["ilms_queue"]  # type: ignore[attr-defined]
        for fn, options in missing:
            tasks[task_name(fn)] = _bind(app, queue, fn, **options)
    return tasks


def enqueue(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Queue ``fn(*args, **kwargs)`` on the current app's queue; returns huey's result handle."""
    return _tasks()[task_name(fn)](*args, **kwargs)


def _make_queue(app: Flask) -> Huey:
    url: str = app.config["QUEUE_URL"]
    if app.config["QUEUE_IMMEDIATE"]:
        return Huey("ilms", immediate=True)
    if url.startswith(("redis://", "rediss://")):
        return RedisHuey("ilms", url=url)
    path = (
        url.removeprefix("sqlite:///")
        if url.startswith("sqlite:///")
        else str(Path(app.instance_path) / "queue.sqlite3")
    )
    return SqliteHuey("ilms", filename=path)


def init_jobs(app: Flask) -> None:
    """Give the app its queue with every registered job bound to it."""
    queue = _make_queue(app)
    app.extensions["ilms_queue"] = queue
    app.extensions["ilms_tasks"] = {
        task_name(fn): _bind(app, queue, fn, **options) for fn, options in _registered
    }


class _EmbeddedConsumer(Consumer):
    def _set_signal_handlers(self) -> None:
        # Signals belong to the server process (gunicorn, flask run), not to this thread.
        return None


_embedded_lock = threading.Lock()


def start_embedded_worker(app: Flask) -> None:
    """Run the consumer in threads of this process (once per app; idempotent)."""
    queue: Huey = app.extensions["ilms_queue"]
    if queue.immediate or "ilms_consumer" in app.extensions:
        return
    with _embedded_lock:
        if "ilms_consumer" in app.extensions:
            return
        consumer = _EmbeddedConsumer(
            queue, workers=app.config["QUEUE_WORKERS"], worker_type="thread"
        )
        consumer.start()
        app.extensions["ilms_consumer"] = consumer
        log.info("embedded job worker started with %s threads", app.config["QUEUE_WORKERS"])


def run_worker(app: Flask, workers: int) -> None:
    """Run a stand-alone consumer in the foreground (``flask ilms worker``)."""
    Consumer(app.extensions["ilms_queue"], workers=workers, worker_type="thread").run()
