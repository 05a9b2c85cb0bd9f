"""A class taking the post-test at once, against gunicorn on 127.0.0.1 (SQLite, then PostgreSQL).

Measures, in one run and against the same server's ``/healthz`` measured alternately (only ratios
hold on a shared machine):
1. a class: N students log in, start the post-test, autosave 20 answers each with think time and
   submit within about a minute; errors and lost answers (every acknowledged answer is checked in
   the database afterwards) must both be 0;
2. answer-save throughput and p99 latency at 16 connections, as a ratio to /healthz;
3. the end-of-class burst: N final submits released at the same instant, against a burst of N
   requests to /healthz; three rounds of both, alternately, and their medians (the worst round is
   printed too).

Usage: python bench/class_submit.py [--students 300] [--workers N] [--threads 1]
                                    [--database sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = 20
#: The class arrives over this many seconds and thinks this long on average before each answer
#: (uniformly between 0.3 and 1.7 times it). With these, the students' own time, the class's
#: length on a server that answered instantly, is about 47 s of the minute: ``class_floor_s``
#: prints it for each run, and ``class_server_added_s`` what the server added to it.
ARRIVAL_SECONDS = 10.0
THINK_SECONDS = 1.5
#: End-of-class bursts per run; their medians are the burst's figures. The class's attempt, the
#: save test's and these three fit in the five attempts the benchmark's cohort allows.
BURST_ROUNDS = 3
PASSWORD = "bench-password-123"  # noqa: S105  (accounts made for this run only)
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# --- Set-up: a module with a 20-question post-test, a cohort, N students --------------------


def write_module(root: Path) -> None:
    folder = root / "bench-module"
    (folder / "lessons").mkdir(parents=True)
    items = ", ".join(f'"q{i}"' for i in range(QUESTIONS))
    (folder / "module.toml").write_text(
        'slug = "bench-module"\nversion = 1\nlanguages = ["en"]\naudience = "undergraduate"\n'
        'estimated_minutes = 30\ntitle = { en = "Benchmark" }\nsummary = { en = "For timing." }\n'
        '[[outcomes]]\nid = "o"\nframe = "research-as-inquiry"\ntext = { en = "An outcome." }\n'
        f'[forms.A]\nitems = [{items}]\n[tests]\npre = "A"\npost = "A"\n',
        encoding="utf-8",
    )
    questions = []
    for i in range(QUESTIONS):
        questions.append(
            f'[[questions]]\nid = "q{i}"\ntype = "single_choice"\noutcome = "o"\n'
            f'text = {{ en = "Question {i}" }}\n'
            + "".join(
                f'[[questions.options]]\nid = "{o}"\ncorrect = {"true" if o == "a" else "false"}\n'
                f'text = {{ en = "Option {o}" }}\nfeedback = {{ en = "Because." }}\n'
                for o in "abcd"
            )
        )
    (folder / "bank.toml").write_text("\n".join(questions), encoding="utf-8")
    (folder / "lessons" / "01-only.en.md").write_text("# Only lesson\n\nText.\n", encoding="utf-8")


def prepare(env: dict[str, str], students: int, workdir: Path) -> dict[str, int]:
    """Migrate, import the module, create the class; returns the ids the run needs."""
    write_module(workdir / "modules")
    flask = [sys.executable, "-m", "flask", "--app", "ilms"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*flask, "ilms", "import-modules", str(workdir / "modules")],
        env=env,
        check=True,
        capture_output=True,
    )
    code = SETUP.format(students=students, password=PASSWORD)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    )
    values = dict(line.split("=", 1) for line in out.stdout.split() if "=" in line)
    return {key: int(value) for key, value in values.items()}


SETUP = """
from datetime import timedelta
from ilms import create_app
from ilms.accounts import services as accounts
from ilms.authoring.models import Module
from ilms.cohorts import services as cohorts
from ilms.cohorts.models import MemberRole
from ilms.db import utcnow
from ilms.delivery.models import Phase, Quiz
from ilms.extensions import db
from ilms.permissions import Role
from sqlalchemy import select

app = create_app()
with app.app_context():
    hashed = accounts.hash_password("{password}")
    owner = accounts.create_user("owner@bench.example", "Owner", [Role.FACULTY], password_hash=hashed)
    cohort = cohorts.create_cohort(owner, course_code="BENCH", course_title="Bench", term="Now")
    module = db.session.scalar(select(Module).where(Module.slug == "bench-module"))
    now = utcnow()
    assignment = cohorts.assign_module(cohort, module, opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=1), pre_required=False, post_after_lessons=False,
        attempts_allowed=5)
    for i in range({students}):
        user = accounts.create_user(f"s{{i}}@bench.example", f"Student {{i}}", [Role.STUDENT],
                                    password_hash=hashed)
        cohorts.add_member(cohort, user, MemberRole.STUDENT)
    post = db.session.scalar(select(Quiz).where(Quiz.assignment_id == assignment.id,
                                                Quiz.phase == Phase.POST))
    db.session.commit()
    print(f"quiz={{post.id}}")
"""


# --- The server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    env: dict[str, str], workers: int, port: int, threads: int = 1
) -> subprocess.Popen[bytes]:
    """gunicorn with ``workers`` sync workers, or gthread workers when ``threads`` > 1."""
    model = ["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else []
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            *model,
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "120",
            "wsgi:app",
        ],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    client = Client(f"http://127.0.0.1:{port}", timeout=1)
    while time.monotonic() < deadline:
        try:
            if client.request("GET", "/healthz").status_code == 200:
                return server
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start")


# --- The load generator --------------------------------------------------------------------
# The students run as threads of this process, on the same cores as the server, so the client
# is kept light: plain http.client, a new connection per request as sync workers close them
# anyway, and cookies kept by name. Its own CPU time is printed with the figures.


@dataclass
class Reply:
    status_code: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class Client:
    """A browser-like client for one student: keeps the server's cookies between requests."""

    def __init__(self, base: str, timeout: float = 60) -> None:
        address = urlsplit(base)
        self.host, self.port = address.hostname or "127.0.0.1", address.port or 80
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        json_body: object = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        body: bytes | None = None
        if json_body is not None:
            body, sent["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        elif form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for cookie in response.headers.get_all("Set-Cookie") or []:
                self._keep(cookie)
            received = {k.lower(): v for k, v in response.getheaders()}
            return Reply(response.status, received, text)
        finally:
            connection.close()

    def _keep(self, header: str) -> None:
        name, _, rest = header.partition("=")
        value, _, attributes = rest.partition(";")
        if not value or "max-age=0" in attributes.lower().replace(" ", ""):
            self.cookies.pop(name.strip(), None)
        else:
            self.cookies[name.strip()] = value


# --- Students -------------------------------------------------------------------------------


@dataclass
class Student:
    base: str
    email: str
    client: Client = field(init=False)
    token: str = ""
    attempt: dict = field(default_factory=dict)
    acknowledged: dict[int, tuple[str, int]] = field(default_factory=dict)
    arrived: float = 0.0  #: seconds after the first student
    thought: float = 0.0  #: seconds spent thinking before answers

    def __post_init__(self) -> None:
        self.client = Client(self.base)

    def log_in(self) -> None:
        token = CSRF_RE.search(self.client.request("GET", "/login").text).group(1)
        response = self.client.request(
            "POST",
            "/login",
            form={"email": self.email, "password": PASSWORD, "csrf_token": token},
        )
        if response.status_code != 302:
            raise RuntimeError(f"log-in failed: {response.status_code}")
        # As a browser does: on to the student's home page, whose forms carry the CSRF token.
        home = self.client.request("GET", urlsplit(response.headers["location"]).path)
        self.token = CSRF_RE.search(home.text).group(1)

    def call(self, method: str, path: str, body: object = None) -> Reply:
        return self.client.request(
            method,
            path,
            json_body=body if body is not None else {},
            headers={"X-CSRFToken": self.token},
        )

    def start(self, quiz: int) -> None:
        response = self.call("POST", f"/api/v1/quizzes/{quiz}/attempts")
        if response.status_code not in (200, 201):
            raise RuntimeError(f"start failed: {response.status_code} {response.text[:200]}")
        self.attempt = response.json()

    def save(self, question: dict, seq: int) -> Reply:
        answer = random.choice([o["id"] for o in question["options"]])
        response = self.call(
            "PUT",
            f"/api/v1/attempts/{self.attempt['id']}/answers/{question['id']}",
            {"answer": answer, "seq": seq},
        )
        if response.status_code == 200:
            self.acknowledged[question["id"]] = (answer, seq)
        return response

    def submit(self) -> Reply:
        return self.call("POST", f"/api/v1/attempts/{self.attempt['id']}/submit")


def take_quiz(student: Student, quiz: int, think: float, errors: list[str]) -> None:
    try:
        student.log_in()
        student.start(quiz)
        for seq, question in enumerate(student.attempt["questions"], start=1):
            pause = random.uniform(0.3, 1.7) * think
            student.thought += pause
            time.sleep(pause)
            response = student.save(question, seq)
            if response.status_code != 200:
                errors.append(f"save {response.status_code}")
        response = student.submit()
        if response.status_code != 200:
            errors.append(f"submit {response.status_code}")
    except (OSError, http.client.HTTPException, RuntimeError) as error:
        errors.append(repr(error))


def lost_answers(env: dict[str, str], students: list[Student]) -> int:
    """Acknowledged answers that are not in the database as acknowledged (or newer)."""
    expected = {
        (s.attempt["id"], qid): ack
        for s in students
        if s.attempt
        for qid, ack in s.acknowledged.items()
    }
    code = (
        "import json,sys\nfrom ilms import create_app\nfrom ilms.extensions import db\n"
        "from ilms.delivery.models import Response\nfrom sqlalchemy import select\n"
        "app=create_app()\nwith app.app_context():\n"
        "    rows=db.session.execute(select(Response.attempt_id,Response.question_version_id,"
        "Response.answer,Response.seq)).all()\n"
        "    print(json.dumps([[a,q,ans,s] for a,q,ans,s in rows]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    )
    stored = {(a, q): (ans, s) for a, q, ans, s in json.loads(out.stdout.strip().splitlines()[-1])}
    return sum(
        1
        for key, (answer, seq) in expected.items()
        if key not in stored
        or stored[key][1] < seq
        or (stored[key][1] == seq and stored[key][0] != answer)
    )


# --- Measurements ---------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load(action: Callable[[], int], connections: int, seconds: float) -> tuple[float, float, int]:
    """Requests per second, p99 latency (s) and error count of ``action`` at ``connections``."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        nonlocal errors
        while time.monotonic() < stop:
            began = time.perf_counter()
            status = action()
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                errors += status >= 400

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.monotonic() - began), percentile(latencies, 0.99), errors


def burst(actions: list[Callable[[], int]]) -> tuple[float, float, int]:
    """Release all actions at once; time to the last completion, p99 and errors."""
    barrier = threading.Barrier(len(actions) + 1)
    durations: list[float] = [0.0] * len(actions)
    statuses: list[int] = [0] * len(actions)

    def run(index: int) -> None:
        barrier.wait()
        began = time.perf_counter()
        statuses[index] = actions[index]()
        durations[index] = time.perf_counter() - began

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, percentile(durations, 0.99), sum(s >= 500 for s in statuses)


def burst_round(class_: list[Student], quiz: int, base: str) -> dict[str, float]:
    """Every student starts a new attempt and answers one question (set up in parallel, not
    timed); then a burst on /healthz, and the burst of all the submits."""

    def ready(student: Student) -> None:
        student.start(quiz)
        student.save(student.attempt["questions"][0], 10**9)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(ready, class_))
    healthz_last, _p99, _ = burst([healthz(base) for _ in class_])
    last, p99, failures = burst([lambda s=student: s.submit().status_code for student in class_])
    return {"last": last, "p99": p99, "failures": failures, "healthz_last": healthz_last}


def cpu_seconds(server: subprocess.Popen[bytes]) -> float:
    """CPU time used so far by the server's worker processes (Linux; 0 elsewhere)."""
    total = 0.0
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    if not children.exists():
        return total
    for pid in children.read_text().split():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a worker that has just been replaced
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def healthz(base: str) -> Callable[[], int]:
    client = Client(base)
    return lambda: client.request("GET", "/healthz").status_code


def run(database: str, students: int, workers: int, threads: int = 1) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="ilms-bench-"))
    env = {
        **os.environ,
        "ILMS_QUEUE_EMBEDDED": "false",
        "ILMS_SECRET_KEY": "bench-" + "k" * 40,
        "ILMS_LOGIN_LIMIT_PER_ADDRESS": '"100000 per 1 minute"',
        "PYTHONPATH": str(ROOT),
    }
    if database == "sqlite":
        env["ILMS_DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    else:
        schema = f"bench_{os.getpid()}"
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "test",
                "-qc",
                f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}",
            ],
            check=True,
        )
        env["ILMS_DATABASE_URL"] = f"{POSTGRES}?options=-csearch_path%3D{schema}"
    ids = prepare(env, students, workdir)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, workers, port, threads)
    figures: dict[str, float] = {}
    try:
        # 1. The class.
        class_ = [Student(base, f"s{i}@bench.example") for i in range(students)]
        errors: list[str] = []
        began, client_cpu, server_cpu = time.monotonic(), time.process_time(), cpu_seconds(server)
        with ThreadPoolExecutor(max_workers=students) as pool:
            for student in class_:
                student.arrived = time.monotonic() - began
                pool.submit(take_quiz, student, ids["quiz"], THINK_SECONDS, errors)
                time.sleep(ARRIVAL_SECONDS / students)
        figures["class_seconds"] = time.monotonic() - began
        figures["class_floor_s"] = max(s.arrived + s.thought for s in class_)
        figures["class_server_added_s"] = figures["class_seconds"] - figures["class_floor_s"]
        # Where the two cores went: the server's workers, and this client's student threads.
        figures["class_server_cpu_s"] = cpu_seconds(server) - server_cpu
        figures["class_client_cpu_s"] = time.process_time() - client_cpu
        figures["class_errors"] = len(errors)
        figures["lost_answers"] = lost_answers(env, class_)
        figures["acknowledged_answers"] = sum(len(s.acknowledged) for s in class_)

        # 2. Answer-save throughput at 16 connections, alternating with /healthz.
        savers = class_[:16]
        for student in savers:
            student.start(ids["quiz"])
        counters = {id(s): iter(range(1000, 10**9)) for s in savers}
        local = threading.local()
        pool_iter = iter(savers * 1000)
        pool_lock = threading.Lock()

        def save_one() -> int:
            if not hasattr(local, "student"):
                with pool_lock:
                    local.student = next(pool_iter)
            student = local.student
            question = random.choice(student.attempt["questions"])
            return student.save(question, next(counters[id(student)])).status_code

        health = healthz(base)
        rounds = {"save": [], "healthz": []}
        for _ in range(3):
            rounds["healthz"].append(load(health, 16, 4.0))
            rounds["save"].append(load(save_one, 16, 4.0))
        for name, results in rounds.items():
            figures[f"{name}_rps"] = statistics.median(r[0] for r in results)
            figures[f"{name}_p99_ms"] = 1000 * statistics.median(r[1] for r in results)
            figures[f"{name}_errors"] = sum(r[2] for r in results)
        figures["save_throughput_ratio"] = figures["save_rps"] / figures["healthz_rps"]
        figures["save_p99_ratio"] = figures["save_p99_ms"] / figures["healthz_p99_ms"]

        # 3. The end-of-class burst: everyone submits at the same instant. One burst is a single
        # sample on a noisy machine: three rounds, each a /healthz burst then a submit burst.
        rounds_ = [burst_round(class_, ids["quiz"], base) for _ in range(BURST_ROUNDS)]
        ratios = [r["last"] / r["healthz_last"] for r in rounds_]
        figures.update(
            burst_last_s=statistics.median(r["last"] for r in rounds_),
            burst_p99_s=statistics.median(r["p99"] for r in rounds_),
            burst_5xx=sum(r["failures"] for r in rounds_),
            healthz_burst_last_s=statistics.median(r["healthz_last"] for r in rounds_),
            burst_ratio=statistics.median(ratios),
            burst_worst_ratio=max(ratios),
            burst_worst_p99_s=max(r["p99"] for r in rounds_),
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument(
        "--workers",
        type=int,
        help="default: the README's worker model, as many as cores on SQLite and one more on "
        "PostgreSQL",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="more than 1: gthread workers with this many threads"
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    model = f"gthread workers x {args.threads} threads" if args.threads > 1 else "sync workers"
    for database in databases:
        workers = args.workers or recommended_workers(database)
        print(f"== {database}: {args.students} students, {workers} gunicorn {model}")
        figures = run(database, args.students, workers, args.threads)
        for key, value in figures.items():
            print(
                f"  {key:<24} {value:,.3f}" if isinstance(value, float) else f"  {key:<24} {value}"
            )
        for goal, met in goals(figures).items():
            print(f"  {'met' if met else 'MISSED':<6} {goal}")


def recommended_workers(database: str) -> int:
    """Sync workers as the README advises: as many as cores for SQLite (one writer at a time),
    one more for PostgreSQL (a worker waiting for the database leaves its core to another)."""
    cores = os.cpu_count() or 2
    return cores if database == "sqlite" else cores + 1


def goals(f: dict[str, float]) -> dict[str, bool]:
    """The benchmark's goals, each as met or missed."""
    return {
        "no errors and no lost answers in the class": f["class_errors"] == f["lost_answers"] == 0,
        "the class finishes within about 60 s (66 s)": f["class_seconds"] <= 66,
        "answer saves at least 12% of /healthz throughput": f["save_throughput_ratio"] >= 0.12,
        "answer-save p99 within 10x of /healthz p99": f["save_p99_ratio"] <= 10,
        "burst: no 5xx": f["burst_5xx"] == 0,
        "burst: last submit within 10x of a /healthz burst": f["burst_ratio"] <= 10,
        "burst: p99 under 3 s": f["burst_p99_s"] < 3,
    }


if __name__ == "__main__":
    main()
