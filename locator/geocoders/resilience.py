"""Keeping a slow or dead provider from slowing every answer: a circuit breaker per provider.

State is per process (each API worker learns on its own); that is enough to stop paying the timeout on every
request once a provider is down, and costs no coordination.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

State = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    """Opens after `failures` consecutive failures; after `reset_after` seconds lets one trial call through
    (half-open): its success closes the circuit, its failure opens it again for another `reset_after`."""

    def __init__(self, failures: int = 3, reset_after: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.failures = max(1, failures)
        self.reset_after = reset_after
        self._clock = clock
        self._lock = threading.Lock()
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial = False
        self._rest_until = 0.0  # a provider that asked to be left alone (429 Retry-After) is, until then

    @property
    def state(self) -> State:
        with self._lock:
            return self._state()

    def _state(self) -> State:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_after:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        """Whether a call may go out now (in half-open state, only one at a time)."""
        with self._lock:
            if self._clock() < self._rest_until:
                return False
            state = self._state()
            if state == "closed":
                return True
            if state == "half-open" and not self._trial:
                self._trial = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._consecutive = 0
            self._opened_at = None
            self._trial = False

    def record_failure(self) -> None:
        with self._lock:
            self._consecutive += 1
            if self._trial or self._consecutive >= self.failures:
                self._opened_at = self._clock()
            self._trial = False

    def rest(self, seconds: float) -> None:
        """No call for `seconds`: the provider said so (a 429 with its Retry-After)."""
        with self._lock:
            self._rest_until = max(self._rest_until, self._clock() + seconds)

    def resting_for(self) -> float:
        """Seconds left of a rest the provider asked for, 0 when none."""
        with self._lock:
            return max(0.0, self._rest_until - self._clock())
