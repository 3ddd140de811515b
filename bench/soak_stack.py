"""Start and stop what the soak runs against: a clean PostgreSQL database and Redis DB, the emulator
process (bench/soak_emulator.py) and gunicorn serving the site (bench/soak_settings.py)."""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SITE_APP = "graph_auth_soak_site"       # the site's PostgreSQL application_name (soak_settings.py)


class HarnessError(Exception):
    """The harness itself could not run (a service missing, a process that did not start)."""


@dataclass
class Config:
    users: int
    workers: int = 4
    threads: int = 4
    db: str = "graph_auth_soak"
    db_host: str = "127.0.0.1"
    db_port: int = 5432
    db_user: str = "postgres"
    redis: str = "redis://127.0.0.1:6379/9"
    refresh_margin: int = 300
    logdir: str = "/tmp/graph_auth_soak"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(parent: int) -> list[int]:
    """The pids of the live child processes of ``parent`` (gunicorn's workers of a master)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent and fields[0] != "Z":
                pids.append(int(entry))
    return pids


def wait_for_site(gunicorn: subprocess.Popen, site_url: str, workers: int, errlog: str, timeout: float = 60) -> None:
    """Return once ``gunicorn`` runs ``workers`` workers and the site answers a page."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if gunicorn.poll() is not None:
            raise HarnessError(f"gunicorn exited (see {errlog})")
        if len(children(gunicorn.pid)) == workers:
            conn = http.client.HTTPConnection(site_url.split("//")[1], timeout=5)
            try:
                conn.request("GET", "/page/")
                conn.getresponse().read()
                return                  # an answer: the site is up
            except OSError:
                pass
            finally:
                conn.close()
        time.sleep(0.2)
    raise HarnessError(f"the site did not answer within {timeout}s (see {errlog})")


def control(emulator_url: str, action: str, **args):
    """Call the control surface of an emulator process (bench/soak_emulator.py)."""
    request = urllib.request.Request(f"{emulator_url}/_control/{action}", data=json.dumps(args).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise HarnessError(f"emulator control {action}: {exc.read()[:300]!r}") from exc


def pg_connect(config: Config, dbname: str | None = None, app: str = "graph_auth_soak_harness"):
    import psycopg
    return psycopg.connect(host=config.db_host, port=config.db_port, user=config.db_user,
                           dbname=dbname or config.db, autocommit=True, application_name=app)


@dataclass
class Stack:
    config: Config
    emulator_url: str = ""
    site_url: str = ""
    procs: list = field(default_factory=list)
    gunicorn: subprocess.Popen | None = None

    def env(self) -> dict:
        c = self.config
        return {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.soak_settings", "PYTHONPATH": ROOT,
                "SOAK_DB": c.db, "SOAK_DB_HOST": c.db_host, "SOAK_DB_PORT": str(c.db_port),
                "SOAK_DB_USER": c.db_user, "SOAK_REDIS": c.redis, "SOAK_EMULATOR_URL": self.emulator_url,
                "SOAK_REFRESH_MARGIN": str(c.refresh_margin)}

    # -- start ------------------------------------------------------------------------------------
    def start(self, name: str) -> None:
        os.makedirs(self.config.logdir, exist_ok=True)
        self.prepare_database()
        self.flush_redis()
        site_port = free_port()
        self.site_url = f"http://127.0.0.1:{site_port}"
        log = open(os.path.join(self.config.logdir, f"{name}.emulator.log"), "w")     # noqa: SIM115
        emulator = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "bench", "soak_emulator.py"), "--users",
             str(self.config.users), "--site", self.site_url], stdout=subprocess.PIPE, stderr=log,
            text=True, cwd=ROOT)
        self.procs.append(emulator)
        log.close()                         # the child has its own copy
        line = emulator.stdout.readline()
        if not line.startswith("ready "):
            raise HarnessError(f"the emulator did not start (see {log.name})")
        self.emulator_url = line.split()[1]
        errlog = os.path.join(self.config.logdir, f"{name}.gunicorn.log")
        errfile = open(errlog, "w")         # noqa: SIM115 — gunicorn writes it
        self.gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "bench.soak_wsgi:application", "--worker-class", "gthread",
             "--workers", str(self.config.workers), "--threads", str(self.config.threads),
             "--bind", f"127.0.0.1:{site_port}", "--timeout", "120", "--graceful-timeout", "3",
             "--backlog", "2048", "--error-logfile", "-", "--log-level", "warning"],
            env=self.env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errfile)
        errfile.close()                     # the child has its own copy
        self.procs.append(self.gunicorn)
        self.wait_for_site(errlog)

    def prepare_database(self) -> None:
        """A fresh database: created when missing, migrated, emptied."""
        try:
            with pg_connect(self.config, "postgres") as conn:
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.config.db]).fetchone():
                    conn.execute(f'CREATE DATABASE "{self.config.db}"')
        except Exception as exc:
            raise HarnessError(f"PostgreSQL at {self.config.db_host}:{self.config.db_port}: {exc}") from exc
        script = ("import django; django.setup(); from django.core.management import call_command; "
                  "call_command('migrate', verbosity=0); call_command('flush', interactive=False, verbosity=0)")
        done = subprocess.run([sys.executable, "-c", script], env={**self.env(), "SOAK_EMULATOR_URL": "x"},
                              cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            raise HarnessError(f"migrate/flush failed: {done.stderr[-2000:]}")

    def flush_redis(self) -> None:
        import redis
        try:
            redis.Redis.from_url(self.config.redis).flushdb()
        except redis.RedisError as exc:
            raise HarnessError(f"Redis at {self.config.redis}: {exc}") from exc

    def wait_for_site(self, errlog: str, timeout: float = 60) -> None:
        wait_for_site(self.gunicorn, self.site_url, self.config.workers, errlog, timeout)

    # -- control ----------------------------------------------------------------------------------
    def control(self, action: str, **args):
        """Call the emulator process's control surface."""
        return control(self.emulator_url, action, **args)

    def workers(self) -> list[int]:
        """The pids of gunicorn's current workers (children of the master this stack started)."""
        return children(self.gunicorn.pid) if self.gunicorn is not None else []

    def kill_worker(self, pid: int) -> bool:
        """SIGKILL one of this stack's gunicorn workers (and nothing else)."""
        if pid not in self.workers():
            return False
        os.kill(pid, signal.SIGKILL)
        return True

    # -- stop -------------------------------------------------------------------------------------
    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.procs.clear()
