"""How fast to send, decided without I/O: client caps, the server's own signals, adaptive concurrency.

`RateState` is the arithmetic behind every limiter (the in-process one and the cluster-wide Ray actor):
- `--rpm` / `--tpm` are token buckets that may go into debt (`bucket.Bucket`): a reservation returns
  how long to wait, so requests leave spaced at the rate without polling, and a row bigger than the
  bucket still passes;
- a 429 (with `Retry-After`, else a short default) pauses everything that shares the state; where the
  server tells no budget at all, the rate its 429s show caps sending from then on (`LearnedRate`);
- `x-ratelimit-remaining-*` / `x-ratelimit-reset-*` headers give the server's own budget: once the
  requests (or tokens) sent since the observed answer use it up, sending waits for the window's reset
  (where the server tells none, one request finds out after a second whether the budget came back).

`Concurrency` is the AIMD controller: one more request in flight per window of clean answers while
latency stays near its best, half as many after a 429 or an overload answer.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping

from omniinfer._client_base import DEFAULT_MAX_CONNECTIONS
from omniinfer.bulk.bucket import Bucket
from omniinfer.bulk.learned_rate import LearnedRate

DEFAULT_PAUSE_S = 1.0  # a 429 without Retry-After: how long everyone waits
MAX_PAUSE_S = 120.0  # never trust a server asking for a longer pause than this (the row fails instead)
# Two answers whose windows reset this close together speak of the same window (resets given in
# whole seconds differ by more: those answers are then not compared, as before).
SAME_WINDOW_S = 0.1
# How long a request that opens a new connection may take to reach the server: a TCP and TLS
# handshake, with room for a slow link. Past it, the request has surely been counted.
MAX_LAG_S = 1.0
# The longest window a reset header may speak of: a day's (Cerebras' `-requests-day`), with a margin.
# A longer reset is a server's mistake, or a trick to park the job: it is not believed.
MAX_RESET_S = 25 * 3600.0

# A budget whose reset the server does not give (Fireworks and Nebius send what is left, not when it
# comes back) is believed for this long. Once it is used up and that time has passed, one request
# goes first to find out whether it came back; the others look again this often, and go anyway if
# its answer (which may carry no headers: a failure) has not come within the longest wait.
DEFAULT_RESET_S = 1.0
PROBE_RECHECK_S = 0.25
MAX_PROBE_S = 10.0
# A reset header this large is a moment, not a duration: Unix time in seconds (Black Forest Labs
# sends `x-ratelimit-reset: 1739552468`), or in milliseconds past the second bound.
EPOCH_S = 1e9  # September 2001
EPOCH_MS = 1e11

# Rate-limit headers: the providers' `x-ratelimit-*`, and the IETF draft's `RateLimit-Limit`,
# `-Remaining` and `-Reset` (delta seconds), which Replicate sends.
RATE_LIMIT_PREFIXES = ("x-ratelimit-", "ratelimit-")

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str) -> float | None:
    """Seconds in a reset header: `1.5` (seconds), `20ms`, `6m0s`, `2m59.56s`, `1h2m`; None if unreadable."""
    text = value.strip().lower()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        return None
    return sum(float(number) * _UNIT_S[unit] for number, unit in parts)


def pause_length(retry_after: float | None) -> float:
    """How long a 429 pauses the job: the server's Retry-After within [0, MAX_PAUSE_S], else the default."""
    return DEFAULT_PAUSE_S if retry_after is None else min(max(retry_after, 0.0), MAX_PAUSE_S)


def spoken_duration(seconds: float) -> str:
    """`45 s`, `6 min 0 s`, `9 h 12 min`: a wait as a person reads it."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


class Window:
    """The server's budget of one kind (requests or tokens) as last observed: `remaining` after the
    answer to the request numbered `seq`, until `reset_at` (monotonic seconds; `told`: the server
    said so, else it is `DEFAULT_RESET_S` after the answer)."""

    __slots__ = ("remaining", "reset_at", "seq", "told")

    def __init__(self, seq: int, remaining: float, reset_at: float, told: bool = True) -> None:
        self.seq, self.remaining, self.reset_at, self.told = seq, remaining, reset_at, told


def reports_budget(headers: Mapping[str, str]) -> bool:
    """Whether an answer's headers (names lower-cased) say anything `rate_limit_windows` reads."""
    return _may_report_budget(headers) and any(name.startswith(RATE_LIMIT_PREFIXES) for name in headers)


def _may_report_budget(headers: Mapping[str, str]) -> bool:
    """False when no header name holds "ratelimit-": the answers of a server without limits (a local
    one) are passed over in one search of the names joined, rather than a test of each name (a bulk
    row looks at every answer's headers)."""
    return "ratelimit-" in " ".join(headers)


def rate_limit_windows(
    headers: Mapping[str, str], now: float, wall: float | None = None
) -> dict[str, tuple[float, float, bool]]:
    """`{"requests"|"tokens": (remaining, reset_at, told)}` from x-ratelimit-* headers, in the shapes of OpenAI
    and Groq (`-remaining-requests`, `-reset-tokens: 7.66s`), Together (`x-ratelimit-remaining`,
    `x-ratelimit-reset` in seconds), Cerebras (`-remaining-tokens-minute`, `-reset-requests-day`),
    Black Forest Labs (`x-ratelimit-reset` as Unix time; `wall` is time.time() at `now`) and the
    IETF draft's (`ratelimit-remaining`, `ratelimit-reset`: Replicate).
    Where a server reports several windows of one kind, the scarcest one counts; `told` is False
    where no reset was given (reset_at is then `DEFAULT_RESET_S` away). A window whose
    limit is 0 is no limit: Together reports `x-ratelimit-limit-tokens: 0` with 0 remaining for image
    generation, which counts no tokens (recorded cassettes, fixtures/hf_cassettes)."""
    if not _may_report_budget(headers):
        return {}
    remaining: dict[tuple[str, str], float] = {}
    reset: dict[tuple[str, str], float] = {}
    unlimited: set[tuple[str, str]] = set()
    for name, value in headers.items():
        if not name.startswith(RATE_LIMIT_PREFIXES):
            continue
        parts = name[name.index("ratelimit-") + len("ratelimit-") :].split("-")
        field, rest = parts[0], parts[1:]
        if field not in ("remaining", "reset", "limit"):
            continue
        kind = "tokens" if rest[:1] == ["tokens"] else "requests"
        key = (kind, "-".join(rest[1:] if rest[:1] in (["tokens"], ["requests"]) else rest))
        if field == "remaining":
            try:
                remaining[key] = float(value)
            except ValueError:
                continue
        elif field == "limit":
            if value.strip() == "0":
                unlimited.add(key)
        else:
            seconds = parse_duration(value)
            if seconds is not None and seconds >= EPOCH_S:
                seconds = max(0.0, seconds / (1000.0 if seconds >= EPOCH_MS else 1.0) - (wall or time.time()))
            if seconds is not None and seconds <= MAX_RESET_S:
                reset[key] = seconds
    found: dict[str, tuple[float, float, bool]] = {}
    for key, left in remaining.items():
        if key in unlimited:
            continue
        told = key in reset
        reset_at = now + (reset[key] if told else DEFAULT_RESET_S)
        kind = key[0]
        if kind not in found or left < found[kind][0]:
            found[kind] = (left, reset_at, told)
    return found


class RateState:
    """Every limit that applies to the requests of one job (or of all workers of a cluster job)."""

    __slots__ = (
        "_largest",
        "_late",
        "_next_seq",
        "_probe_seq",
        "_probe_until",
        "_probe_void",
        "_sent_tokens",
        "learned",
        "paused_until",
        "rate_limited",
        "requests",
        "tokens",
        "windows",
    )

    def __init__(self, rpm: float | None, tpm: float | None, now: float) -> None:
        self.requests = Bucket.at_rate(rpm / 60, now) if rpm else None
        self.tokens = Bucket.at_rate(tpm / 60, now) if tpm else None
        self.paused_until = 0.0
        self.windows: dict[str, Window] = {}
        self.rate_limited = 0
        self._next_seq = 0
        # tokens announced per sequence number since the oldest live token window: cumulative, so the
        # tokens sent after request n are _sent_tokens[-1] - _sent_tokens[n - base]; kept short.
        self._sent_tokens: list[float] = [0.0]
        # Requests that may reach the server after later-numbered ones (see `number`), by sequence
        # number: (their tokens, until when), until they land.
        self._late: dict[int, tuple[float, float]] = {}
        # The most the server has said was left, by kind: about its whole budget per window.
        self._largest: dict[str, float] = {}
        # The request finding out whether a used-up budget without a told reset came back (see
        # `_probing`): its sequence number, and until when the others wait for its answer (0: none).
        self._probe_seq = -1
        self._probe_until = 0.0
        self._probe_void = 0  # numbers right after it that will not be sent (the rest of its lease)
        # The rate learned from the 429s of a server that tells no budget (unused once it tells one).
        self.learned = LearnedRate(now)

    def reserve(self, requests: int, tokens: float, now: float) -> tuple[int, float]:
        """Take `requests` requests and `tokens` tokens (a lease): the first sequence number, and how long
        to wait before the first may leave. Waiting again on `blocked_for` after that sleep catches
        pauses that started meanwhile."""
        wait = self.charge(requests, tokens, now)
        first = self.number(requests, tokens, now)
        return first, max(wait, self.blocked_for(now, lease=first))

    def charge(self, requests: int, tokens: float, now: float) -> float:
        """Take `requests` and `tokens` from the client caps: seconds until they allow them to leave."""
        wait = 0.0
        if self.requests is not None:
            wait = self.requests.reserve(requests, now)
        if self.tokens is not None:  # even a request of ~0 tokens waits out the debt
            wait = max(wait, self.tokens.reserve(tokens, now))
        if self.learned.bucket is not None:  # (tested here: no call per row while nothing is learned)
            wait = max(wait, self.learned.wait(requests, now, self.paused_until))
        return wait

    def most_per_lease(self, requests: int, seconds: float) -> int:
        """`requests`, or fewer where a learned rate caps them (see `LearnedRate.most_per_lease`)."""
        return self.learned.most_per_lease(requests, seconds)

    def number(self, requests: int, tokens: float, now: float, *, may_lag: bool = False) -> int:
        """The sequence numbers of `requests` leaving now (the first one). The server's budget is
        counted in this order, so a request is numbered when it leaves, not when it starts waiting:
        waiters released together (a pause ending) may leave in any order.

        `may_lag`: this request may reach the server well after requests numbered later (it opens a
        new connection first). Until it `landed` (for at most `MAX_LAG_S`), an observed answer to a
        later request is taken not to have counted it: otherwise a job's start, which opens
        connection after connection, sends one request too many per lagging one (measured: ~10%
        429s for a 500-row job)."""
        first = self._next_seq
        self._next_seq += requests
        self._note_tokens(requests, tokens)
        if may_lag:
            late = (tokens / requests if requests else 0.0, now + MAX_LAG_S)
            self._late.update((seq, late) for seq in range(first, first + requests))
        return first

    def landed(self, seq: int) -> None:
        """Request `seq` was answered (or failed): where it was counted no longer matters."""
        if self._late:
            self._late.pop(seq, None)
        if seq == self._probe_seq:  # answered without a budget (a failure): the next request finds out
            self._probe_until = 0.0

    def blocked_for(self, now: float, tokens: float | None = None, lease: int | None = None) -> float:
        """Seconds until a shared pause ends or the server's budget is back (0 when free to send).
        A budget used up only by requests that may lag is looked at again when the first of them
        stops counting (they may have been counted already: no reason to wait for the reset).

        `tokens`: a request of about this many tokens is about to leave, not numbered yet: what is
        left must hold it whole. (A request costs one of a request budget, but many of a token
        budget: sending whenever some tokens are left let one request too many through each window,
        and the server answered it with a 429: one a second at a limit of 400 tokens a second.) A
        request larger than any budget the server has reported (a `max_tokens` above the whole
        per-minute limit) cannot be what the server charges, or it would never be answered: it
        waits only for a budget used up, as a request of one token would.

        `lease`: asked for the lease numbered from `lease` on (Ray), already numbered: if a used-up
        budget must be found out, that lease is the one to do it (see `granted`)."""
        wait = self.paused_until - now
        if lease is not None and lease > self._probe_seq and now < self._probe_until:
            # A lease finds out what the budget is (see `find_out_first`): later ones wait for its answer.
            wait = max(wait, min(PROBE_RECHECK_S, self._probe_until - now))
        for kind, window in self.windows.items():
            need = 0.0 if tokens is None else 1.0 if kind == "requests" else tokens
            if need > self._largest.get(kind, math.inf):
                need = 0.0
            if window.reset_at <= now:
                if not window.told and window.remaining - self._sent_since(kind, window.seq) < max(need, 1.0):
                    wait = max(wait, self._probing(now, lease))  # used up, and nobody said until when
                continue
            left = window.remaining - self._sent_since(kind, window.seq)
            if left <= 0 or left < need:
                wait = max(wait, window.reset_at - now)
            elif self._late:
                lagging, first_ends = self._lagging(kind, window.seq, now)
                if left - lagging <= 0 or left - lagging < need:
                    wait = max(wait, min(window.reset_at, first_ends) - now)
        return max(0.0, wait)

    def _probing(self, now: float, lease: int | None) -> float:
        """A budget is used up and its reset was not told: one request goes to find out whether it
        came back (0 for it), the others wait for its answer (at most `MAX_PROBE_S`). Without this,
        every waiting request went at the guessed reset, and against a minute's budget all but the
        first were refused (27 429s for 100 rows at 20 requests per 4 s; see bench/RESULTS.md)."""
        if now >= self._probe_until:  # none out (or its answer is overdue): the next request is it
            self._probe_seq = self._next_seq if lease is None else lease
            self._probe_until = now + MAX_PROBE_S
            self._probe_void = 0
            return 0.0
        # A request not numbered yet is the one while that number is not taken; a lease (numbered
        # already) is the one when it holds that number, asking again.
        ours = self._next_seq <= self._probe_seq if lease is None else lease == self._probe_seq
        return 0.0 if ours else min(PROBE_RECHECK_S, self._probe_until - now)

    def granted(self, lease: int, requests: int, tokens: float, now: float) -> tuple[int, bool]:
        """How many of the `requests` (of `tokens` in all) of the lease numbered from `lease` on may
        go, and whether that lease is to find out whether a budget came back: then one only (a
        whole lease would be refused but one), the rest given back to the client caps and not
        counted as sent once its answer has come. 0 for a lease numbered before the one that found
        out: the budget that answer reports counts from there, so its numbers would not be counted;
        it is given back whole, to be leased again."""
        if lease < self._probe_seq:
            self._refund(requests, tokens)
            return 0, False
        if lease != self._probe_seq or now >= self._probe_until:
            return requests, False
        if requests > 1:
            self._probe_void = max(self._probe_void, requests - 1)
            self._refund(requests - 1, tokens * (requests - 1) / requests)
        return 1, True

    def find_out_first(self, lease: int, now: float) -> None:
        """No answer has told the server's budget yet (a job's first lease): the lease numbered from
        `lease` on sends one request to find it out, and later leases wait for its answer (at most
        `MAX_PROBE_S`), as when a used-up budget's reset was not told. Two Ray workers leasing 16
        requests each before any answer sent 32 into a budget of 20: 9 came back 429 (one run in five
        of tests/test_bulk_ray.py). An answer without a budget (a server without limits) ends it too."""
        self._probe_seq = lease
        self._probe_until = now + MAX_PROBE_S
        self._probe_void = 0

    def _refund(self, requests: int, tokens: float) -> None:
        """Give back to the client caps what was charged for requests that will not be sent."""
        if self.requests is not None:
            self.requests.give_back(requests)
        if self.tokens is not None:
            self.tokens.give_back(tokens)

    def observe(self, seq: int, headers: Mapping[str, str], now: float) -> None:
        """An answer to request `seq` came with these headers (names lower-cased).

        The newest answer's budget counts. An older answer still tells something: if it left less
        than the newest one, the server counted its request after the newest one's, so that
        budget was already spent by one more request than it says."""
        late = self._late.pop(seq, None) if self._late else None
        # The answer of the request that found out whether a budget came back (see `_probing`). On
        # Ray, the rest of its lease was never sent: the budget it reports counts after those numbers.
        found_out = seq == self._probe_seq and self._probe_until > 0.0
        told_now = rate_limit_windows(headers, now)
        if not told_now and not found_out:  # nothing said, nothing to forget: the usual answer without limits
            return
        if told_now:
            self.learned.forget()
        for kind, (left, reset_at, told) in told_now.items():
            self._largest[kind] = max(self._largest.get(kind, 0.0), left)
            known = self.windows.get(kind)
            if found_out:
                self.windows[kind] = Window(seq + self._probe_void, left, reset_at, told)
            elif known is None or seq >= known.seq or known.reset_at <= now:
                self.windows[kind] = Window(seq, left, reset_at, told)
            elif left < known.remaining and abs(reset_at - known.reset_at) < SAME_WINDOW_S:
                known.remaining -= 1.0 if kind == "requests" else (0.0 if late is None else late[0])
        if found_out:
            self._probe_until = 0.0
            # Answered, without the budget that was being found out: the server tells it on some
            # answers only. Finding it out again would send the job one request at a time; the
            # budget is forgotten instead, as any guess past its second was before.
            for kind in [kind for kind, window in self.windows.items() if kind not in told_now and not window.told]:
                del self.windows[kind]
        self._forget_old_tokens()

    def pause(self, seconds: float | None, now: float, seq: int | None = None) -> float:
        """A 429 to request `seq`: everybody waits `seconds` (the server's Retry-After) or the default.
        Returns the wait."""
        self.rate_limited += 1
        wait = pause_length(seconds)
        self.paused_until = max(self.paused_until, now + wait)
        if seq is not None and not self._largest:  # a server that tells no budget: learn from its 429s
            self.learned.refused(seq, self._next_seq, self.paused_until, now)
        return wait

    def count_accepted(self, answers: int, now: float) -> None:
        """`answers` more answers were accepted (not refused) by `now` (see `LearnedRate`)."""
        if not self._largest:
            self.learned.count_accepted(answers, now)

    def settle_tokens(self, estimated: float, actual: float) -> None:
        """The server reported the tokens a request really cost: correct the token bucket."""
        if self.tokens is not None:
            self.tokens.give_back(estimated - actual)

    def _note_tokens(self, requests: int, tokens: float) -> None:
        if "tokens" in self.windows:
            last = self._sent_tokens[-1]
            share = tokens / requests if requests else 0.0
            self._sent_tokens.extend(last + share * (i + 1) for i in range(requests))
        else:  # nobody asks: keep one number
            self._sent_tokens = [0.0]

    def _sent_since(self, kind: str, seq: int) -> float:
        """Requests (or tokens) numbered after request `seq`."""
        if kind == "requests":
            return float(self._next_seq - seq - 1)
        base = self._next_seq - (len(self._sent_tokens) - 1)
        index = seq + 1 - base
        if index < 0:
            return self._sent_tokens[-1]
        if index >= len(self._sent_tokens):
            return 0.0
        return self._sent_tokens[-1] - self._sent_tokens[index]

    def _lagging(self, kind: str, seq: int, now: float) -> tuple[float, float]:
        """Requests (or tokens) numbered before request `seq` that may still reach the server after
        it, and when the first of them stops counting. Those past `MAX_LAG_S` are forgotten."""
        lagging, first_ends = 0.0, math.inf
        for late, (tokens, until) in list(self._late.items()):
            if until <= now:
                del self._late[late]
            elif late < seq:
                lagging += 1.0 if kind == "requests" else tokens
                first_ends = min(first_ends, until)
        return lagging, first_ends

    def _forget_old_tokens(self) -> None:
        window = self.windows.get("tokens")
        if window is None:
            return
        base = self._next_seq - (len(self._sent_tokens) - 1)
        drop = window.seq - base
        if drop > 1024:  # trim in blocks: the list holds the tokens of the requests still unanswered
            del self._sent_tokens[:drop]


class Concurrency:
    """Adaptive or fixed number of requests in flight.

    Adaptive: a slow start, then additive increase and multiplicative decrease. From `start`, every
    clean answer adds one more in flight (the number doubles each round trip), until answers slow
    down, a 429 or an overload answer comes, or the maximum is reached; from then on it grows by an
    eighth per round of clean answers and halves on overload. Model calls last seconds: at 12% a round
    trip from 8, 256 in flight would take 29 round trips; doubling takes 5."""

    __slots__ = ("_best_latency", "_clean", "_last_cut", "adaptive", "limit", "maximum", "minimum", "slow_start")

    def __init__(
        self, fixed: int | None, *, start: int = 8, minimum: int = 1, maximum: int = DEFAULT_MAX_CONNECTIONS
    ) -> None:
        # Adaptive growth stops at the client's connection limit: past it, calls only queue for a
        # connection, which costs CPU (measured: 245 µs a row against 230 at 256) and gains nothing.
        self.adaptive = fixed is None
        self.limit = fixed if fixed is not None else start
        self.minimum, self.maximum = minimum, maximum
        self.slow_start = self.adaptive
        self._clean = 0
        self._best_latency = math.inf
        self._last_cut = -math.inf

    def success(self, latency: float, saturated: bool = True) -> None:
        """A clean answer. `saturated`: every slot was busy (only then is more concurrency of use)."""
        if not self.adaptive:
            return
        if latency < self._best_latency:
            self._best_latency = latency
        if latency > 4 * self._best_latency + 0.05:  # answers slow down: the server is queueing, hold
            self._clean = 0
            self.slow_start = False
            return
        if not saturated:
            return
        if self.slow_start:
            self.limit = min(self.maximum, self.limit + 1)
            self.slow_start = self.limit < self.maximum
            return
        self._clean += 1
        if self._clean >= self.limit:  # one whole window of clean answers: one more in flight
            self._clean = 0
            self.limit = min(self.maximum, self.limit + 1 + self.limit // 8)

    def overloaded(self, now: float) -> None:
        """A 429 or an overload answer: halve, once per burst of such answers."""
        if not self.adaptive or now - self._last_cut < 0.5:
            return
        self.slow_start = False
        self._last_cut = now
        self._clean = 0
        self.limit = max(self.minimum, self.limit // 2)
