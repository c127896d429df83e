"""Per-client token buckets, in process, so that numbers and codes cannot be tried in bulk.

A client may make ``capacity`` lookups at once; its bucket refills at ``capacity / per_seconds``
tokens a second. Memory is bounded: buckets live in an LRU of ``max_clients`` entries, and a
bucket that has been idle long enough to refill completely is the same as no bucket at all, so
dropping the least recently used ones never lets a busy client start afresh early.

IPv6 clients are keyed by their /64, the block one subscriber usually holds, so that walking the
addresses of one's own prefix does not multiply the allowance.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


@functools.lru_cache(maxsize=65_536)  # parsing an address costs more than the bucket it keys
def client_key(host: str | None) -> str:
    if not host:
        return "unknown"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


class TokenBucket:
    """``allow(client)`` takes a token if there is one; ``retry_after`` says when the next one comes."""

    def __init__(self, capacity: int, per_seconds: float, max_clients: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if capacity < 0 or per_seconds <= 0:
            raise ValueError("capacity must be >= 0 and per_seconds > 0")
        self.capacity = capacity
        self.rate = capacity / per_seconds if capacity else 0.0
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def allow(self, client: str, cost: float = 1.0) -> bool:
        if not self.enabled:
            return True
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.capacity), now))
            tokens = min(float(self.capacity), tokens + (now - last) * self.rate)
            allowed = tokens >= cost
            if allowed:
                tokens -= cost
            self._buckets[client] = (tokens, now)  # most recently used at the end
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return allowed

    def _tokens(self, client: str) -> float:
        """``client``'s tokens now, without taking any."""
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.capacity), self._clock()))
        return min(float(self.capacity), tokens + (self._clock() - last) * self.rate)

    def available(self, client: str, cost: float = 1.0) -> bool:
        """Whether ``allow`` would let ``client`` through now, without taking a token."""
        return not self.enabled or self._tokens(client) >= cost

    def retry_after(self, client: str, cost: float = 1.0) -> int:
        """Whole seconds until ``cost`` tokens are available again (at least 1)."""
        if not self.enabled:
            return 0
        tokens = self._tokens(client)
        return max(1, math.ceil((cost - tokens) / self.rate)) if tokens < cost else 1

    def __len__(self) -> int:
        return len(self._buckets)
