"""The rate a server that tells no budget allows, learned from its 429s (see `LearnedRate`)."""

from __future__ import annotations

from omniinfer.bulk.bucket import Bucket

# The job sends at this share of the rate learned, and tries a tenth more after this long without a
# 429 (the rate learned in a job's first seconds may be low: it was still opening connections).
LEARNED_SHARE = 0.9
LEARNED_RAISE_S = 10.0
LEARNED_RAISE = 1.1
# A cycle in which the server accepted at least this share of the learned rate was paced by that rate,
# not by the server: its 429 says the last try was too fast, and the rate goes back to the one before.
LEARNED_BOUND = 0.75


class LearnedRate:
    """What a server that tells no budget allows, from the answers it accepted in a cycle (from the end
    of one pause to the end of the next) over the cycle's length. Once a 429 has taught it, the job
    sends at `LEARNED_SHARE` of that rate, evenly. Pausing alone, each window of the server's began
    with a burst that went over it (measured: 61 429s for 300 rows at 50 requests a second; 21-24 for
    100 rows at 20 per 2 s, one process or two Ray workers alike).

    Accepted answers are counted as they come (`count_accepted`), not inferred from what was sent: a
    burst's 429s come in any order and, after a pause of milliseconds, the next burst leaves before
    the last one's 429s are all back."""

    __slots__ = (
        "_busiest",
        "_cycle_base",
        "_cycle_counted",
        "_cycle_end",
        "_cycle_pause_end",
        "_cycle_rate",
        "_cycle_seq",
        "_cycle_start",
        "_raised_at",
        "_second",
        "_second_count",
        "accepted",
        "bucket",
    )

    def __init__(self, now: float) -> None:
        self.bucket: Bucket | None = None  # None until a 429 teaches a rate
        self._raised_at = now  # when the rate was last learned or tried higher
        self.accepted = 0  # answers accepted so far
        # Until a rate is learned: the answers accepted in the current second, and in the busiest one.
        self._second = -1
        self._second_count = 0
        self._busiest = 0
        # The cycle being counted: its first number, the number after its last (None until its first
        # 429), when it began, `accepted` then and at its last 429, when its pause ends, and the
        # learned rate it was sent at (None: none yet).
        self._cycle_seq = 0
        self._cycle_end: int | None = None
        self._cycle_start = now
        self._cycle_base = 0
        self._cycle_counted = 0
        self._cycle_pause_end = now
        self._cycle_rate: float | None = None

    @property
    def rate(self) -> float | None:
        """Requests a second the job sends at; None while nothing is learned."""
        return None if self.bucket is None else self.bucket.rate

    def wait(self, requests: int, now: float, paused_until: float) -> float:
        """Take `requests` at the learned rate: seconds until they may leave (0 while nothing is learned)."""
        bucket = self.bucket
        if bucket is None:
            return 0.0
        if now - self._raised_at >= LEARNED_RAISE_S:  # long without a 429: try a little faster
            self._raised_at = now
            bucket.set_rate(bucket.rate * LEARNED_RAISE)
        # Counted from the end of a pause: the requests that wait for it then leave spaced at the
        # rate, rather than all at once at its end (their turns would have passed while it lasted).
        start = max(now, paused_until)
        return start - now + bucket.reserve(requests, start)

    def most_per_lease(self, requests: int, seconds: float) -> int:
        """`requests`, or fewer where the learned rate would let a lease of that many leave in a burst
        that a window of the server's cannot hold: at most `seconds` worth of it (at least one)."""
        if self.bucket is None:
            return requests
        return max(1, min(requests, int(self.bucket.rate * seconds)))

    def count_accepted(self, answers: int, now: float) -> None:
        """`answers` more answers were accepted (not refused) by `now`. Until a rate is learned, the
        busiest second of them is kept: the first cycle begins with the job, while its concurrency is
        still growing, and its average alone learned 116 a second for a limit of 200 through the CLI
        (4,000 rows took 49.6 s instead of 21.6)."""
        self.accepted += answers
        if self.bucket is None:
            second = int(now)
            if second != self._second:
                self._second, self._second_count = second, 0
            self._second_count += answers
            if self._second_count > self._busiest:
                self._busiest = self._second_count

    def refused(self, seq: int, next_seq: int, paused_until: float, now: float) -> None:
        """A 429 to request `seq`, which paused the job until `paused_until`; `next_seq` is the number
        the next request will take. A cycle's requests are those numbered before its first 429 (later
        ones leave after the pause): its other 429s refine the rate as its answers come. A cycle in
        which nothing was accepted (a Retry-After shorter than the window's rest) lends its time to
        the next one."""
        end = self._cycle_end
        if end is not None and seq >= end:  # a 429 of the cycle after the one that ended
            if self._cycle_counted > self._cycle_base:
                self._cycle_start, self._cycle_base = self._cycle_pause_end, self._cycle_counted
            self._cycle_seq, end = end, None
        if seq < self._cycle_seq:
            return  # a 429 of a cycle already learned from
        if end is None:
            self._cycle_end = next_seq
            self._cycle_rate = self.rate
        self._cycle_pause_end = paused_until
        self._cycle_counted = self.accepted
        accepted = self.accepted - self._cycle_base
        if accepted > 0:
            self._learn(accepted / max(paused_until - self._cycle_start, 1e-3), now)

    def forget(self) -> None:
        """The server tells its budget after all: no rate guessed from its 429s."""
        self.bucket = None

    def _learn(self, allowed: float, now: float) -> None:
        """The server accepted `allowed` requests a second over the cycle that ended."""
        paced = self._cycle_rate
        if paced is None:  # the first cycle: at least its busiest second (a long window's burst is
            allowed = max(allowed, float(self._busiest))  # overestimated once, and the next cycle corrects)
        rate = allowed * LEARNED_SHARE
        if paced is not None and allowed >= LEARNED_BOUND * paced:
            # The job sent at the learned rate all cycle long and went over only after trying it
            # faster: `allowed` is the job's own pace more than the server's limit (2,000 rows at 50 a
            # second learned 39 again after reaching 52). Back to the rate before that try.
            rate = max(rate, paced / LEARNED_RAISE)
        self._raised_at = now
        if self.bucket is None:
            self.bucket = Bucket.at_rate(rate, now)
        else:
            self.bucket.set_rate(rate)
