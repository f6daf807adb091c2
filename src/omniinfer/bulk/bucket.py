"""A token bucket that may go into debt: the shape of the client caps and of a rate learned from 429s."""

from __future__ import annotations

BUCKET_BURST_S = 0.05  # a bucket lets this many seconds' worth of requests leave back to back


class Bucket:
    """`reserve` takes an amount now and says how long until the bucket is repaid: requests wait that
    long and leave spaced at the rate without polling, and an amount bigger than the bucket still passes."""

    __slots__ = ("capacity", "level", "rate", "updated")

    def __init__(self, per_second: float, capacity: float, now: float) -> None:
        self.rate = per_second
        self.capacity = capacity
        self.level = capacity
        self.updated = now

    @classmethod
    def at_rate(cls, per_second: float, now: float) -> Bucket:
        """A full bucket filling at `per_second` (see `set_rate`)."""
        bucket = cls(per_second, 0.0, now)
        bucket.set_rate(per_second)
        bucket.level = bucket.capacity
        return bucket

    def set_rate(self, per_second: float) -> None:
        """Fill at `per_second`, holding `BUCKET_BURST_S` worth of it (at least one)."""
        self.rate, self.capacity = per_second, max(1.0, per_second * BUCKET_BURST_S)

    def reserve(self, amount: float, now: float) -> float:
        if now > self.updated:  # (a reservation may have been made for a later moment: see LearnedRate.wait)
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
            self.updated = now
        self.level -= amount
        return 0.0 if self.level >= 0 else -self.level / self.rate

    def give_back(self, amount: float) -> None:
        """Correct an estimate: a negative amount charges more."""
        self.level = min(self.capacity, self.level + amount)
