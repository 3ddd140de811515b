"""The processes bench/run.py starts, in a temporary directory of its own: graph_auth's emulator
served over HTTP (bench/soak_emulator.py, with its loopback control surface) and gunicorn serving
bench/wsgi.py; the CPU time of gunicorn's workers; a client sending requests on kept-alive
connections."""
from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time

from bench.soak_stack import HarnessError, children, control, free_port, wait_for_site

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class EmulatorProcess:
    """graph_auth's emulator in its own process; ``site`` is the origin whose callback it accepts."""

    def __init__(self, workdir: str, site: str) -> None:
        with open(os.path.join(workdir, "emulator.log"), "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, os.path.join(ROOT, "bench", "soak_emulator.py"), "--users", "0", "--site", site],
                stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
        line = self.proc.stdout.readline()
        if not line.startswith("ready "):
            self.stop()
            raise HarnessError(f"the emulator did not start (see {log.name})")
        self.url = line.split()[1]

    def control(self, action: str, **args):
        return control(self.url, action, **args)

    def stop(self) -> None:
        _stop(self.proc)


class Gunicorn:
    """gunicorn (gthread) serving the bench's site with ``env`` added to its environment."""

    def __init__(self, name: str, workdir: str, env: dict, *, workers: int, threads: int,
                 port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers_wanted = workers
        errlog = os.path.join(workdir, f"{name}.gunicorn.log")
        with open(errlog, "w") as errfile:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "bench.wsgi:application", "--worker-class", "gthread",
                 "--workers", str(workers), "--threads", str(threads), "--bind", f"127.0.0.1:{self.port}",
                 "--timeout", "120", "--graceful-timeout", "3", "--backlog", "2048", "--keep-alive", "30",
                 "--error-logfile", "-", "--log-level", "warning"],
                env={**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": ROOT, **env},
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errfile)
        try:
            wait_for_site(self.proc, self.url, workers, errlog)
        except HarnessError:
            self.stop()
            raise

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def cpu(self) -> float:
        """CPU seconds the workers' threads have run so far (the scheduler's nanoseconds: the
        clock ticks of /proc/PID/stat are too coarse for a few hundred requests; gthread's threads
        live as long as their worker, so none of them is missed)."""
        total = 0
        for pid in self.workers():
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                        total += int(f.read().split()[0])
            except (OSError, ValueError):
                continue                  # a worker or thread that just ended
        return total / 1e9

    def stop(self) -> None:
        _stop(self.proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def load(url: str, path: str, cookie: str, total: int, concurrency: int) -> tuple[float, list]:
    """Send ``total`` GETs of ``path`` over ``concurrency`` kept-alive connections; return the wall
    time and every status that was not 200."""
    host = url.split("//")[1]
    headers = {"Cookie": cookie}
    bad: list = []
    share = [total // concurrency + (1 if i < total % concurrency else 0) for i in range(concurrency)]

    def client(n: int) -> None:
        conn = http.client.HTTPConnection(host, timeout=60)
        try:
            for _ in range(n):
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    bad.append(response.status)
        except OSError as exc:
            bad.append(type(exc).__name__)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in share]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, bad


def burst(url: str, path: str, cookie: str, count: int) -> tuple[float, list, list]:
    """Send ``count`` GETs at once, each on its own connection opened beforehand; return the wall
    time until the last answer, the latencies and the outcomes (status, or the error's name)."""
    host = url.split("//")[1]
    conns = [http.client.HTTPConnection(host, timeout=120) for _ in range(count)]
    for conn in conns:
        conn.connect()
    gate = threading.Barrier(count + 1)
    outcomes: list = [None] * count
    latencies: list = [0.0] * count

    def one(i: int) -> None:
        gate.wait()
        start = time.perf_counter()
        try:
            conns[i].request("GET", path, headers={"Cookie": cookie, "Connection": "close"})
            response = conns[i].getresponse()
            response.read()
            outcomes[i] = response.status
        except OSError as exc:
            outcomes[i] = type(exc).__name__
        finally:
            latencies[i] = time.perf_counter() - start
            conns[i].close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    gate.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, outcomes
