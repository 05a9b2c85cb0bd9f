"""The background job queue (huey): embedded in the app process by default, on Redis at scale.

Jobs are plain functions registered with ``@job``; they run with an app context of the app that
configured the queue. ``QUEUE_IMMEDIATE`` runs them at once in the caller (tests).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from huey import Huey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper
from huey.consumer import Consumer

log = logging.getLogger(__name__)

_app: Flask | None = None
#: The queue; configured by ``init_jobs``. Until then it runs tasks immediately in memory.
queue: Huey = Huey("ilms", immediate=True)
_registered: list[tuple[Callable[..., Any], dict[str, Any]]] = []
_tasks: dict[str, TaskWrapper] = {}


def job(
    retries: int = 3, retry_delay: int = 30
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` as a job; call ``enqueue(fn, ...)`` to run it in the background."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        _registered.append((fn, {"retries": retries, "retry_delay": retry_delay}))
        _bind(fn, retries=retries, retry_delay=retry_delay)
        return fn

    return decorator


def _bind(fn: Callable[..., Any], **options: Any) -> None:
    def run_in_app(*args: Any, **kwargs: Any) -> Any:
        if _app is None:
            raise RuntimeError("the job queue is not configured")
        with _app.app_context():
            return fn(*args, **kwargs)

    run_in_app.__name__ = fn.__name__
    run_in_app.__qualname__ = fn.__qualname__
    run_in_app.__module__ = fn.__module__
    _tasks[f"{fn.__module__}.{fn.__name__}"] = queue.task(
        name=f"{fn.__module__}.{fn.__name__}", **options
    )(run_in_app)


def enqueue(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Queue ``fn(*args, **kwargs)``; returns huey's result handle."""
    return _tasks[f"{fn.__module__}.{fn.__name__}"](*args, **kwargs)


def _make_queue(app: Flask) -> Huey:
    url: str = app.config["QUEUE_URL"]
    immediate = bool(app.config["QUEUE_IMMEDIATE"])
    if immediate:
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
    """Point the queue at this app's storage and start the embedded worker if configured."""
    global _app, queue
    _app = app
    queue = _make_queue(app)
    _tasks.clear()
    for fn, options in _registered:
        _bind(fn, **options)
    app.extensions["ilms_queue"] = queue


class _EmbeddedConsumer(Consumer):
    def _set_signal_handlers(self) -> None:
        # Signals belong to the server process (gunicorn, flask run), not to this thread.
        return None


_embedded_lock = threading.Lock()
_embedded: _EmbeddedConsumer | None = None


def start_embedded_worker(app: Flask) -> None:
    """Run the consumer in threads of this process (one per app process; idempotent)."""
    global _embedded
    if queue.immediate or _embedded is not None:
        return
    with _embedded_lock:
        if _embedded is not None:
            return
        _embedded = _EmbeddedConsumer(
            queue, workers=app.config["QUEUE_WORKERS"], worker_type="thread"
        )
        _embedded.start()
        log.info("embedded job worker started with %s threads", app.config["QUEUE_WORKERS"])


def run_worker(app: Flask, workers: int) -> None:
    """Run a stand-alone consumer in the foreground (``flask ilms worker``)."""
    Consumer(queue, workers=workers, worker_type="thread").run()
