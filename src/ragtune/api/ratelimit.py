"""A bounded, in-process limiter of failed authentications per client address."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque


class AuthFailures:
    """Failed authentications per client address in the last ``window`` seconds; ``limit`` of them block that
    address until the oldest leaves the window. At most ``max_clients`` addresses are tracked (the least
    recently failing is forgotten first), so a flood of addresses cannot grow memory without bound."""

    def __init__(self, limit: int = 10, window: float = 60.0, max_clients: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._failures.get(client)
        while times and now - times[0] >= self.window:
            times.popleft()
        if times is not None and not times:
            del self._failures[client]
            return None
        return times

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again; 0 when it is not blocked."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(client, now)
            if times is None or len(times) < self.limit:
                return 0
            return max(1, int(times[0] + self.window - now + 0.999))

    def record(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            times = self._recent(client, now) or deque(maxlen=self.limit)
            times.append(now)
            self._failures[client] = times
            self._failures.move_to_end(client)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)
