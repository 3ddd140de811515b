"""Drive the soak: sign the users in, send page requests at a fixed rate (open loop: a request is
sent on schedule whether or not earlier ones have been answered), and check every user's refresh
token at the end."""
from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bench.soak_browser import Result, User

PAGES = {"graph": "/me/", "plain": "/page/"}     # the page reading Graph, the page without Graph


def sign_in_all(users: list[User], lifetimes: list[int], set_lifetime, concurrency: int = 8) -> list[str]:
    """Sign every user in, in as many batches as ``lifetimes``, each batch's tokens living that long
    (so that refreshes spread over the minute instead of coming all at once); return the errors."""
    errors = []
    batches = [users[i::len(lifetimes)] for i in range(len(lifetimes))]
    with ThreadPoolExecutor(concurrency) as pool:
        for lifetime, batch in zip(lifetimes, batches, strict=True):
            set_lifetime(lifetime)
            for user, error in zip(batch, pool.map(User.sign_in, batch), strict=True):
                if error:
                    errors.append(f"{user.upn}: {error}")
    return errors


class Load:
    """Send ``rate`` requests per second for ``duration`` seconds, spread over the users in turn;
    each user alternates between the Graph page and the page without Graph."""

    def __init__(self, users: list[User], rate: float, duration: float, timeout: float) -> None:
        self.users, self.rate, self.duration, self.timeout = users, rate, duration, timeout
        self.results: list[Result] = []
        self.skipped = 0                     # not sent: too many requests in flight (harness limit)
        self.max_inflight = max(64, min(1500, int(rate * timeout * 1.5)))
        self._inflight = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)

    def run(self, t0: float) -> None:
        order = list(self.users)
        random.Random(9).shuffle(order)
        count = int(self.rate * self.duration)
        for k in range(count):
            at = t0 + k / self.rate
            delay = at - time.time()
            if delay > 0:
                time.sleep(delay)
            user = order[k % len(order)]
            page = ("graph", "plain")[(k // len(order) + user.index) % 2]
            with self._lock:
                if self._inflight >= self.max_inflight:
                    self.skipped += 1
                    continue
                self._inflight += 1
            threading.Thread(target=self._one, args=(user, page, at), daemon=True).start()

    def _one(self, user: User, page: str, at: float) -> None:
        try:
            result = user.request(page, PAGES[page], at)
            with self._lock:
                self.results.append(result)
        finally:
            with self._lock:
                self._inflight -= 1
                self._idle.notify_all()

    def drain(self) -> int:
        """Wait for the requests still in flight (at most the client timeout); return how many remain."""
        deadline = time.time() + self.timeout + 5
        with self._lock:
            while self._inflight and time.time() < deadline:
                self._idle.wait(0.5)
            return self._inflight


def check_refresh_tokens(users: list[User], concurrency: int = 4, tries: int = 3) -> dict[int, str]:
    """Force one refresh grant per user; return {user index: outcome} ("ok", "lost: ...",
    "signed out", "unavailable: ..."). A refused refresh means the user lost their refresh token."""
    def one(user: User) -> tuple[int, str]:
        if not user.signed_in:
            return user.index, "signed out"
        for attempt in range(tries):
            status, body = user.check_refresh()
            if status == 200:
                return user.index, "ok"
            if status in (409, 302):
                return user.index, f"lost: {body}"
            if attempt + 1 < tries:
                time.sleep(1)
        return user.index, f"unavailable: {status} {body}"

    with ThreadPoolExecutor(concurrency) as pool:
        return dict(pool.map(one, users))
