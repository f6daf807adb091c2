"""The pacing arithmetic of bulk jobs, with time passed in (no clocks, no sleeps)."""

from __future__ import annotations

import email.utils
from typing import Any

import pytest
import yaml

from cassettes import CASSETTES
from omniinfer.bulk.learned_rate import LEARNED_RAISE, LEARNED_RAISE_S, LEARNED_SHARE
from omniinfer.bulk.limiter import OWN_CAPS, SERVER_BUDGET, WaitNotice
from omniinfer.bulk.pacing import (
    MAX_LAG_S,
    MAX_PROBE_S,
    PROBE_RECHECK_S,
    Concurrency,
    RateState,
    parse_duration,
    pause_length,
    rate_limit_windows,
    reports_budget,
    spoken_duration,
)
from omniinfer.bulk.ray import LEASE_SECONDS, LimiterActor
from omniinfer.bulk.tasks import TypicalOutput, bind, output_ceiling


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1.5", 1.5), ("20ms", 0.02), ("6m0s", 360.0), ("2m59.56s", 179.56), ("1h2m", 3720.0), ("7.66s", 7.66)],
)
def test_reset_durations_in_every_providers_shape(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def recorded_answers(cassette: str) -> list[dict[str, str]]:
    """The response headers (lower-cased names) of the interactions of a recorded cassette that carry
    rate-limit headers: what the live services really send."""
    data: dict[str, Any] = yaml.safe_load((CASSETTES / f"{cassette}.yaml").read_text())
    answers = []
    for interaction in data["interactions"]:
        headers = {name.lower(): values[0] for name, values in interaction["response"]["headers"].items()}
        if reports_budget(headers):
            answers.append(headers)
    assert answers, cassette
    return answers


def test_recorded_rate_limit_headers_read_as_the_services_mean_them() -> None:
    # Cerebras: a day's requests and a minute's tokens, resets in seconds.
    cerebras = recorded_answers("TestInferenceClient.test_chat_completion_no_stream[cerebras,conversational]")[0]
    assert rate_limit_windows(cerebras, 100.0) == {
        "requests": (215964.0, pytest.approx(100.0 + 23468.998601913452), True),
        "tokens": (159468.0, pytest.approx(100.0 + 8.998601913452148), True),
    }
    # Together's image generation reports a token limit of 0 with 0 left: it counts no tokens. Read
    # as a budget used up, it held every request back until a reset, one round a second.
    together = recorded_answers("TestInferenceClient.test_text_to_image_default[together,text-to-image]")[0]
    assert together["x-ratelimit-remaining-tokens"] == "0"
    assert rate_limit_windows(together, 100.0) == {"requests": (39.0, 102.0, True)}
    state = RateState(None, None, 100.0)
    state.observe(state.number(1, 10.0, 100.0), together, 100.0)
    assert state.blocked_for(100.0, 10.0) == 0.0
    # Black Forest Labs gives the reset as Unix time: 2 s after the answer's Date.
    bfl = recorded_answers("TestInferenceClient.test_text_to_image_default[black-forest-labs,text-to-image]")[0]
    answered_at = email.utils.parsedate_to_datetime(bfl["date"]).timestamp()
    assert rate_limit_windows(bfl, 100.0, wall=answered_at) == {"requests": (1199.0, pytest.approx(102.0), True)}
    assert rate_limit_windows(bfl, 100.0, wall=answered_at + 3600) == {"requests": (1199.0, 100.0, True)}  # long past
    # Fireworks says what is left (prompt and generated tokens apart; the scarcer counts), never
    # when it comes back.
    fireworks = recorded_answers("TestInferenceClient.test_chat_completion_no_stream[fireworks-ai,conversational]")[0]
    assert rate_limit_windows(fireworks, 100.0) == {"requests": (59.0, 101.0, False), "tokens": (6000.0, 101.0, False)}
    # Replicate sends the IETF draft's fields.
    replicate = recorded_answers("TestInferenceClient.test_text_to_image_default[replicate,text-to-image]")[0]
    assert rate_limit_windows(replicate, 100.0) == {"requests": (599.0, 101.0, True)}
    millis = {"x-ratelimit-remaining": "5", "x-ratelimit-reset": str(int((answered_at + 30) * 1000))}
    assert rate_limit_windows(millis, 100.0, wall=answered_at) == {"requests": (5.0, pytest.approx(130.0), True)}


@pytest.mark.parametrize("text", ["soon", "", "5 parsecs", "1x"])
def test_unreadable_durations_are_none(text: str) -> None:
    assert parse_duration(text) is None


def test_rate_limit_headers_of_openai_groq_together_cerebras() -> None:
    openai = {"x-ratelimit-remaining-requests": "59", "x-ratelimit-reset-requests": "1s",
              "x-ratelimit-remaining-tokens": "1000", "x-ratelimit-reset-tokens": "6m0s"}  # fmt: skip
    assert rate_limit_windows(openai, 100.0) == {"requests": (59, 101.0, True), "tokens": (1000, 460.0, True)}
    together = {"x-ratelimit-remaining": "3", "x-ratelimit-reset": "0.5", "x-ratelimit-limit": "10"}
    assert rate_limit_windows(together, 0.0) == {"requests": (3, 0.5, True)}
    # Cerebras reports a day window of requests and a minute window of tokens; the scarcest counts.
    cerebras = {"x-ratelimit-remaining-requests-day": "14000", "x-ratelimit-reset-requests-day": "33000.5",
                "x-ratelimit-remaining-tokens-minute": "0", "x-ratelimit-reset-tokens-minute": "12.5"}  # fmt: skip
    assert rate_limit_windows(cerebras, 0.0) == {"requests": (14000, 33000.5, True), "tokens": (0, 12.5, True)}
    assert rate_limit_windows({"content-type": "application/json", "x-ratelimit-remaining": "n/a"}, 0.0) == {}


def test_a_used_up_budget_with_no_told_reset_is_probed_by_one_request() -> None:
    # Fireworks' shape: what is left, never when it comes back. Once used up, the others wait a guessed
    # second, then one request goes to find out; the rest wait for its answer.
    state = RateState(None, None, 0.0)
    first = state.number(1, 1.0, 0.0)
    state.observe(first, {"x-ratelimit-remaining-requests": "1"}, 0.0)
    state.number(1, 1.0, 0.0)  # the last one of the budget
    assert state.blocked_for(0.5) == pytest.approx(0.5)  # until the guessed reset
    assert state.blocked_for(1.0) == 0.0  # this one goes, and finds out
    assert state.blocked_for(1.0) == 0.0  # (asked again before it took its number: still it)
    probe = state.number(1, 1.0, 1.0)
    assert state.blocked_for(1.0) == PROBE_RECHECK_S  # the others wait for its answer
    assert state.blocked_for(1.0 + MAX_PROBE_S - 0.1) == pytest.approx(0.1)  # at most this long
    state.observe(probe, {"x-ratelimit-remaining-requests": "20"}, 1.5)  # it came back: everyone goes
    assert state.blocked_for(1.5) == 0.0
    # A probe answered without a budget (a failure) lets the next request find out at once.
    for _ in range(20):
        state.number(1, 1.0, 1.5)
    assert state.blocked_for(2.5) == 0.0
    probe = state.number(1, 1.0, 2.5)
    assert state.blocked_for(2.5) == PROBE_RECHECK_S
    state.landed(probe)
    assert state.blocked_for(2.5) == 0.0
    # An answer to it that tells no budget (the server tells it on some answers only): the guess is
    # forgotten, rather than found out again request after request.
    probe = state.number(1, 1.0, 2.5)  # (the one that was told to find out, just above)
    assert state.blocked_for(3.5) == PROBE_RECHECK_S
    state.observe(probe, {"content-type": "application/json"}, 3.6)
    assert state.blocked_for(3.6) == 0.0 and "requests" not in state.windows
    state.number(1, 1.0, 3.6)
    assert state.blocked_for(3.6) == 0.0  # nobody waits for a finding-out any more
    # A told reset is believed: nothing goes before it.
    told = RateState(None, None, 0.0)
    told.observe(
        told.number(1, 1.0, 0.0), {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "3s"}, 0.0
    )
    assert told.blocked_for(1.0) == pytest.approx(2.0)


def test_on_ray_the_lease_that_finds_out_is_cut_to_one_request() -> None:
    # Ray actors take leases of several requests, numbered before they wait. The lease that is to find
    # out whether a used-up budget came back may send one request; the caps get the rest back.
    for left, wait_after in (("20", 0.0), ("10", 1.0)):
        state = RateState(None, None, 0.0)
        first, _ = state.reserve(4, 4.0, 0.0)
        state.observe(first, {"x-ratelimit-remaining-requests": "0"}, 0.0)
        probe, wait = state.reserve(16, 16.0, 1.0)
        assert wait == 0.0 and state.granted(probe, 16, 16.0, 1.0) == (1, True)
        other, wait = state.reserve(16, 16.0, 1.0)
        assert wait == PROBE_RECHECK_S and state.granted(other, 16, 16.0, 1.0) == (16, False)
        assert state.blocked_for(1.2, lease=probe) == 0.0  # the lease that finds out, asking again
        # Its answer: the 15 requests its lease did not send are not counted; the other lease's 16
        # are (20 left holds them; 10 does not, and the lease waits for the guessed reset).
        state.observe(probe, {"x-ratelimit-remaining-requests": left}, 1.5)
        assert state.blocked_for(1.5, lease=other) == pytest.approx(wait_after)
    # A lease numbered before the one that finds out, still waiting: its numbers would not count
    # against the budget that answer reports, so it is given back whole and leased again.
    state = RateState(None, None, 0.0)
    state.observe(state.reserve(4, 4.0, 0.0)[0], {"x-ratelimit-remaining-requests": "0"}, 0.0)
    older, _ = state.reserve(16, 16.0, 0.5)  # waits for the guessed reset
    later, wait = state.reserve(16, 16.0, 1.0)
    assert wait == 0.0 and state.granted(later, 16, 16.0, 1.0) == (1, True)
    assert state.granted(older, 16, 16.0, 1.0) == (0, False)
    capped = RateState(60.0 * 100, 60.0 * 1000, 0.0)  # 100 requests and 1,000 tokens a second
    capped.observe(capped.reserve(4, 40.0, 0.0)[0], {"x-ratelimit-remaining-requests": "0"}, 0.0)
    lease, _ = capped.reserve(16, 160.0, 2.0)
    assert capped.requests is not None and capped.tokens is not None
    before = (capped.requests.level, capped.tokens.level)
    assert capped.granted(lease, 16, 160.0, 2.0) == (1, True)  # the caps get the other 15 back
    assert (capped.requests.level, capped.tokens.level) == (before[0] + 15, before[1] + 150)


def test_on_ray_the_first_lease_finds_out_the_budget() -> None:
    # Before any answer, two workers leased 16 requests each into a budget of 20 (9 came back 429).
    state = RateState(None, None, 0.0)
    first, _ = state.reserve(16, 16.0, 0.0)
    state.find_out_first(first, 0.0)
    assert state.granted(first, 16, 16.0, 0.0) == (1, True)  # one request finds out
    other, wait = state.reserve(16, 16.0, 0.0)
    assert wait == PROBE_RECHECK_S  # the other worker's lease waits for that answer
    assert state.blocked_for(0.1, lease=first) == 0.0 and state.blocked_for(0.1, lease=other) == PROBE_RECHECK_S
    # The answer tells 19 left: the 15 numbers the first lease did not send are not counted, and the
    # other lease's 16 go (19 hold them).
    state.observe(first, {"x-ratelimit-remaining-requests": "19", "x-ratelimit-reset-requests": "2s"}, 0.2)
    assert state.blocked_for(0.2, lease=other) == 0.0
    assert state.granted(other, 16, 16.0, 0.2) == (16, False)
    # A lease the rest of the budget cannot hold waits for its reset (3 left, 16 asked).
    _, wait = state.reserve(16, 16.0, 0.3)
    assert wait == pytest.approx(1.9)
    # No answer for MAX_PROBE_S: the others stop waiting.
    late = RateState(None, None, 0.0)
    lease, _ = late.reserve(16, 16.0, 0.0)
    late.find_out_first(lease, 0.0)
    assert late.granted(lease, 16, 16.0, 0.0) == (1, True)
    assert late.reserve(16, 16.0, MAX_PROBE_S)[1] == 0.0
    # A server without budgets: the answer that finds out says nothing, and leases go whole.
    free = RateState(None, None, 0.0)
    lease, _ = free.reserve(16, 16.0, 0.0)
    free.find_out_first(lease, 0.0)
    assert free.granted(lease, 16, 16.0, 0.0) == (1, True)
    free.observe(lease, {}, 0.1)
    after, wait = free.reserve(16, 16.0, 0.1)
    assert wait == 0.0 and free.granted(after, 16, 16.0, 0.1) == (16, False)


def test_a_reset_longer_than_a_day_and_a_pause_longer_than_two_minutes_are_not_believed() -> None:
    daily = {"x-ratelimit-remaining-requests-day": "0", "x-ratelimit-reset-requests-day": "33011.56"}
    assert rate_limit_windows(daily, 0.0) == {"requests": (0.0, 33011.56, True)}  # Cerebras' day: kept
    parked = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "99999999"}
    assert rate_limit_windows(parked, 0.0) == {"requests": (0.0, 1.0, False)}  # as if no reset was given
    assert pause_length(86400.0) == 120.0 and pause_length(-5.0) == 0.0 and pause_length(None) == 1.0


def test_a_long_wait_is_told_once(capsys: pytest.CaptureFixture[str]) -> None:
    told = WaitNotice()
    told.waiting(5.0, 0.0)  # short: nothing to say
    assert capsys.readouterr().err == ""
    told.waiting(3540.0, 0.0, SERVER_BUDGET)
    told.waiting(3539.0, 1.0, SERVER_BUDGET)  # every worker waits for the same end: said once
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--resume" in err
    assert "requests wait 59 min 0 s for the server's rate limit budget to come back" in err
    told.waiting(60.0, 4000.0, OWN_CAPS)  # a later wait is told again
    assert "requests wait 1 min 0 s for the job's own --rpm/--tpm caps" in capsys.readouterr().err
    assert [spoken_duration(s) for s in (0.4, 45, 360, 33011.56)] == ["0 s", "45 s", "6 min 0 s", "9 h 10 min"]


def test_request_cap_spaces_requests_at_the_rate() -> None:
    state = RateState(rpm=600, tpm=None, now=0.0)  # 10 per second, a burst of 1
    waits = [state.reserve(1, 0, 0.0)[1] for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert state.reserve(1, 0, 10.0)[1] == 0.0  # idle time refills only up to the burst


def test_token_cap_charges_the_estimate_then_the_real_count() -> None:
    state = RateState(rpm=None, tpm=6000, now=0.0)  # 100 tokens per second
    assert state.reserve(1, 5.0, 0.0)[1] == 0.0
    assert state.reserve(1, 100.0, 0.0)[1] == pytest.approx(1.0)
    state.settle_tokens(estimated=100.0, actual=50.0)  # it cost less: half a second back
    assert state.reserve(1, 0.0, 0.0)[1] == pytest.approx(0.5)


def test_a_429_pauses_everyone_for_retry_after() -> None:
    state = RateState(None, None, 0.0)
    assert state.blocked_for(0.0) == 0.0
    state.pause(2.0, 1.0)
    assert state.blocked_for(1.5) == pytest.approx(1.5)
    assert state.reserve(1, 0, 2.0)[1] == pytest.approx(1.0)
    state.pause(None, 10.0)  # no Retry-After: the default pause
    assert state.blocked_for(10.0) > 0 and state.rate_limited == 2


def leave_times(state: RateState, count: int, start: float) -> list[float]:
    """When `count` requests asking one after another from `start` on may leave, each at the moment
    its predecessor left (a job with work waiting: it asks as soon as it may)."""
    times, now = [], start
    for _ in range(count):
        now += state.reserve(1, 0.0, now)[1]
        times.append(now)
    return times


def test_a_server_that_tells_no_budget_is_paced_at_the_rate_its_429s_show() -> None:
    # 20 requests a 2-s window, no budget headers: 26 went in the first 0.1 s; 20 were answered and 6
    # came back 429 (in any order, some before the answers) with Retry-After 1.9 s. The server allowed
    # 20 in 2 s: the job goes on at 90% of 10 a second.
    state = RateState(None, None, 0.0)
    for i in range(26):
        state.reserve(1, 0.0, i * 0.004)
    state.learned.accepted += 15
    for seq in (23, 20, 25):
        state.pause(1.9, 0.1, seq=seq)
    assert state.learned.rate == pytest.approx(15 / 2.0 * LEARNED_SHARE)
    state.learned.accepted += 5  # the last answers of the burst
    for seq in (21, 24, 22):
        state.pause(1.9, 0.1, seq=seq)
    assert state.learned.rate == pytest.approx(10.0 * LEARNED_SHARE)
    assert state.paused_until == pytest.approx(2.0)
    # After the pause, evenly spaced: no 2-s window of the server's gets more than its 20.
    times = leave_times(state, 60, 0.2)  # (they asked during the pause)
    assert times[0] == pytest.approx(2.0)
    assert max(sum(1 for t in times if w <= t < w + 2.0) for w in (2.0, 4.0, 6.0, 8.0)) <= 19
    assert times[-1] == pytest.approx(2.0 + 59 / 9.0, abs=0.2)  # at 9 a second, not slower


def test_the_first_rate_is_at_least_the_busiest_second_before_the_first_429() -> None:
    # The job took 4 s to find its concurrency: 300 answers in all, 200 of them in its last second, when
    # the server (200 a second) refused. The cycle's average (300 / 5 s) would learn half the limit.
    state = RateState(None, None, 0.0)
    for second, answers in ((0, 20), (1, 30), (2, 50), (3, 200)):
        for _ in range(answers):
            state.reserve(1, 0.0, second + 0.5)
        state.count_accepted(answers, second + 0.9)
    refused = state.reserve(1, 0.0, 3.95)[0]
    state.pause(1.0, 4.0, seq=refused)
    assert state.learned.rate == pytest.approx(200 * LEARNED_SHARE)


def test_a_learned_rate_is_tried_higher_after_a_while_without_429s_and_set_again_by_the_next() -> None:
    state = RateState(None, None, 0.0)
    for _ in range(11):
        state.reserve(1, 0.0, 0.0)
    state.learned.accepted += 10
    state.pause(1.0, 0.0, seq=10)  # 10 accepted in a second
    assert state.learned.rate == pytest.approx(9.0)
    leave_times(state, 5, 1.0)  # numbers 11-15
    assert state.learned.rate == pytest.approx(9.0)
    state.reserve(1, 0.0, LEARNED_RAISE_S)  # no 429 for LEARNED_RAISE_S
    assert state.learned.rate == pytest.approx(9.0 * LEARNED_RAISE)
    for _ in range(7):
        state.reserve(1, 0.0, LEARNED_RAISE_S)  # up to number 23
    # The next 429 measures again: 12 accepted since the pause ended (at 1.0), until 11.5.
    state.learned.accepted += 12
    state.pause(1.0, 10.5, seq=23)
    assert state.learned.rate == pytest.approx(12 / (11.5 - 1.0) * LEARNED_SHARE)


def test_a_429_after_a_long_paced_cycle_steps_the_rate_back_rather_than_down_to_the_jobs_own_pace() -> None:
    # Learned 45 a second (90% of 50), tried 49.5 after 10 s, refused at 20 s: the server accepted
    # ~47 a second over the cycle, which is the job's own pace, not the limit. Back to 45.
    state = RateState(None, None, 0.0)
    for _ in range(51):
        state.reserve(1, 0.0, 0.0)
    state.learned.accepted += 50
    state.pause(1.0, 0.0, seq=50)
    assert state.learned.rate == pytest.approx(45.0)
    times = leave_times(state, 900, 1.0)
    state.learned.accepted += 900
    assert state.learned.rate == pytest.approx(45.0 * LEARNED_RAISE)  # raised once, at 10 s
    last = state.reserve(1, 0.0, times[-1])[0]
    state.pause(1.0, times[-1], seq=last)
    assert state.learned.rate == pytest.approx(45.0)
    # A 429 that shows the limit itself came down (few accepted in the cycle) is believed.
    for _ in range(10):
        state.reserve(1, 0.0, times[-1] + 1.0)
    state.learned.accepted += 9
    state.pause(1.0, times[-1] + 1.0, seq=last + 10)
    assert state.learned.rate == pytest.approx(9 / 1.0 * LEARNED_SHARE)


def test_a_429_right_after_a_pause_teaches_no_rate_of_zero() -> None:
    # Retry-After said less than the window had left: the first request after the pause is refused
    # too. The cycle lends its time to the next one.
    state = RateState(None, None, 0.0)
    for _ in range(20):
        state.reserve(1, 0.0, 0.0)
    state.learned.accepted += 19
    state.pause(1.0, 0.0, seq=19)  # 19 accepted until 1.0
    first_rate = 19 / 1.0 * LEARNED_SHARE
    assert state.learned.rate == pytest.approx(first_rate)
    refused = state.reserve(1, 0.0, 1.0)[0]
    state.pause(1.0, 1.0, seq=refused)  # none accepted: the rate stands, the cycle began at 1.0
    assert state.learned.rate == pytest.approx(first_rate)
    seqs = [state.reserve(1, 0.0, 2.0)[0] for _ in range(11)]
    state.learned.accepted += 10
    state.pause(1.0, 2.5, seq=seqs[10])  # 10 accepted from 1.0 (the cycle's start) until 3.5
    assert state.learned.rate == pytest.approx(10 / 2.5 * LEARNED_SHARE)


def test_no_rate_is_learned_from_the_429s_of_a_server_that_tells_its_budget() -> None:
    state = RateState(None, None, 0.0)
    seqs = [state.reserve(1, 0.0, 0.0)[0] for _ in range(5)]
    state.observe(seqs[0], {"x-ratelimit-remaining-requests": "3", "x-ratelimit-reset-requests": "1s"}, 0.0)
    state.learned.accepted += 4
    state.pause(1.0, 0.1, seq=seqs[4])
    assert state.learned.rate is None
    # A rate learned before the first budget came is dropped when it comes.
    guessed = RateState(None, None, 0.0)
    seqs = [guessed.reserve(1, 0.0, 0.0)[0] for _ in range(5)]
    guessed.learned.accepted += 4
    guessed.pause(1.0, 0.0, seq=seqs[4])
    assert guessed.learned.rate is not None
    guessed.observe(seqs[0], {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"}, 0.5)
    assert guessed.learned.rate is None


def test_on_ray_a_learned_rate_caps_each_lease() -> None:
    # A lease's requests leave back to back: at 9 a second, a lease of 16 would be a burst of 16. The
    # answers a worker accepted reach the actor with its next lease or 429.
    actor = LimiterActor(None, None)
    assert actor.lease(16, 16.0)[1] == 1  # the first lease finds out the budget: one request
    actor.state.landed(0)  # answered without a budget
    first, granted, _, _ = actor.lease(16, 16.0, accepted=1)
    assert granted == 16  # nothing learned yet
    actor.pause(1.0, first + 10, accepted=9)
    assert actor.state.learned.accepted == 10 and actor.state.learned.rate is not None
    rate = actor.state.learned.rate
    _, granted, _, wait = actor.lease(16, 16.0)
    assert granted == max(1, int(rate * LEASE_SECONDS)) < 16 and wait > 0


def test_server_budget_counts_requests_sent_after_the_observed_answer() -> None:
    state = RateState(None, None, 0.0)
    seqs = [state.reserve(1, 0, 0.0)[0] for _ in range(3)]
    # The answer to the first request said 2 remain for 0.5 s; two more were sent since: none left.
    state.observe(seqs[0], {"x-ratelimit-remaining-requests": "2", "x-ratelimit-reset-requests": "500ms"}, 0.1)
    assert state.blocked_for(0.1) == pytest.approx(0.5)
    assert state.blocked_for(0.6) == 0.0  # the window reset
    # A newer answer replaces the budget; an older one arriving late does not.
    state.observe(seqs[2], {"x-ratelimit-remaining-requests": "5", "x-ratelimit-reset-requests": "1s"}, 0.7)
    state.observe(seqs[1], {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"}, 0.7)
    assert state.blocked_for(0.7) == 0.0


def test_requests_are_numbered_in_the_order_they_leave() -> None:
    # The server counts requests in the order they reach it. A request that waited (a pause, a cap)
    # may leave after one that asked later, so numbers are given when leaving, not when asking.
    state = RateState(None, None, 0.0)
    assert state.charge(1, 0.0, 0.0) == 0.0  # A asks, and waits for some other reason: no number yet
    b = state.number(1, 0.0, 0.0)  # B, asking later, leaves first
    a = state.number(1, 0.0, 0.0)  # then A
    assert (b, a) == (0, 1)
    # The answer to B says one request remains: A, sent after B, took it. (Numbered when asking, A
    # would have been 0 and B 1, and the last request of the window would look free.)
    state.observe(b, {"x-ratelimit-remaining-requests": "1", "x-ratelimit-reset-requests": "1s"}, 0.0)
    assert state.blocked_for(0.0) == pytest.approx(1.0)


def test_a_request_that_may_reach_the_server_late_is_charged_until_it_lands() -> None:
    # A worker's first request opens a connection: requests numbered after it may be counted first.
    state = RateState(None, None, 0.0)
    slow = state.number(1, 0.0, 0.0, may_lag=True)
    quick = state.number(1, 0.0, 0.0)
    state.observe(quick, {"x-ratelimit-remaining-requests": "1", "x-ratelimit-reset-requests": "6m0s"}, 0.1)
    # The one left may be the slow request's. It may also have been counted already, so the budget is
    # looked at again when the slow request stops counting, not at the window's reset 6 minutes on.
    assert state.blocked_for(0.1) == pytest.approx(MAX_LAG_S - 0.1)
    state.landed(slow)  # it was answered: whatever it spent, the answers have told
    assert state.blocked_for(0.1) == 0.0
    # Unanswered, it stops counting after MAX_LAG_S: by then it has reached the server.
    state.number(1, 0.0, 0.2, may_lag=True)
    newer = state.number(1, 0.0, 0.2)
    state.observe(newer, {"x-ratelimit-remaining-requests": "1", "x-ratelimit-reset-requests": "6m0s"}, 0.3)
    assert state.blocked_for(0.3) > 0
    assert state.blocked_for(0.2 + MAX_LAG_S) == 0.0
    # A budget used up by requests numbered after the answer still waits for the reset.
    state.number(1, 0.0, 2.0)
    assert state.blocked_for(2.0) == pytest.approx(360.3 - 2.0)


def test_an_older_answer_that_left_less_proves_its_request_was_counted_later() -> None:
    state = RateState(None, None, 0.0)
    early, late, newest = (state.number(1, 0.0, 0.0) for _ in range(3))
    state.observe(newest, {"x-ratelimit-remaining-requests": "2", "x-ratelimit-reset-requests": "800ms"}, 0.0)
    # `early` was counted before `newest` (it left more): nothing changes.
    state.observe(early, {"x-ratelimit-remaining-requests": "4", "x-ratelimit-reset-requests": "800ms"}, 0.0)
    assert state.windows["requests"].remaining == 2
    # `late` left less than `newest`: the server counted it after, so one of those 2 is gone.
    state.observe(late, {"x-ratelimit-remaining-requests": "1", "x-ratelimit-reset-requests": "800ms"}, 0.0)
    assert state.windows["requests"].remaining == 1
    # An answer from an earlier window (its reset long past the newest one's) proves nothing.
    state.observe(late, {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "10ms"}, 0.0)
    assert state.windows["requests"].remaining == 1
    state.number(1, 0.0, 0.0)
    assert state.blocked_for(0.0) == pytest.approx(0.8)


def test_server_token_budget() -> None:
    state = RateState(None, None, 0.0)
    first, _ = state.reserve(1, 10.0, 0.0)
    state.observe(first, {"x-ratelimit-remaining-tokens": "25", "x-ratelimit-reset-tokens": "2s"}, 0.0)
    state.reserve(1, 10.0, 0.0)
    assert state.blocked_for(0.0) == 0.0  # 10 of 25 spent since
    state.reserve(1, 20.0, 0.0)
    assert state.blocked_for(0.0) == pytest.approx(2.0)  # 30 > 25: wait for the reset


def test_a_request_leaves_only_when_the_token_budget_holds_it_whole() -> None:
    state = RateState(None, None, 0.0)
    first = state.number(1, 41.0, 0.0)
    state.observe(first, {"x-ratelimit-remaining-tokens": "72", "x-ratelimit-reset-tokens": "1s"}, 0.0)
    state.number(1, 41.0, 0.0)  # in flight: 31 left
    assert state.blocked_for(0.0, 41.0) == pytest.approx(1.0)  # 41 > 31: the server would answer 429
    assert state.blocked_for(0.0, 30.0) == 0.0
    assert state.blocked_for(0.0) == 0.0  # already numbered (a lease): only an overdrawn budget waits
    state.observe(first, {"x-ratelimit-remaining-requests": "1", "x-ratelimit-reset-requests": "1s"}, 0.0)
    assert state.blocked_for(0.0, 1.0) == pytest.approx(1.0)  # the tokens still do not fit


def test_a_ceiling_above_the_whole_token_budget_does_not_stall_the_job() -> None:
    # A max_tokens of 8192 against 6,000 tokens a minute: a server charging the ceiling would never
    # answer such a request, so this one counts what is generated; waiting for room for 8,192 would
    # send one request a minute.
    state = RateState(None, None, 0.0)
    first = state.number(1, 8200.0, 0.0)
    state.observe(first, {"x-ratelimit-remaining-tokens": "5600", "x-ratelimit-reset-tokens": "60s"}, 0.0)
    assert state.blocked_for(0.0, 8200.0) == 0.0
    state.number(1, 8200.0, 0.0)
    assert state.blocked_for(0.0, 8200.0) == pytest.approx(60.0)  # used up: wait for the reset


def test_rows_without_a_ceiling_are_estimated_at_what_answers_generate() -> None:
    binder = bind("conversational", ["prompt"])
    value, kwargs = binder.call({"prompt": "x" * 40})
    assert output_ceiling(kwargs) is None
    typical = TypicalOutput()
    assert binder.estimate_tokens(value, output_ceiling(kwargs), typical.tokens) == 10.0  # nothing answered yet
    for generated in (30, 50, 40):
        typical.add(generated)
    assert typical.tokens == pytest.approx(40.0)
    assert binder.estimate_tokens(value, output_ceiling(kwargs), typical.tokens) == pytest.approx(50.0)
    bounded = bind("conversational", ["prompt"], params={"max_tokens": 16})
    value, kwargs = bounded.call({"prompt": "x" * 40})
    assert output_ceiling(kwargs) == 16
    assert bounded.estimate_tokens(value, output_ceiling(kwargs), typical.tokens) == 26.0  # the ceiling, not the mean
    for _ in range(1000):
        typical.add(400)
    assert typical.tokens == pytest.approx(400.0, rel=1e-3)  # a moving mean follows a change


def test_slow_start_doubles_each_round_trip_until_answers_slow_down() -> None:
    control = Concurrency(None, start=8)
    for _ in range(8):
        control.success(0.5, saturated=True)  # one round trip of clean answers
    assert control.limit == 16 and control.slow_start
    for _ in range(16):
        control.success(0.5, saturated=True)
    assert control.limit == 32
    control.success(3.0, saturated=True)  # answers slow down: the server queues
    assert control.limit == 32 and not control.slow_start
    for _ in range(32):
        control.success(0.5, saturated=True)
    assert control.limit == 37  # from now on an eighth per round trip
    capped = Concurrency(None, start=8, maximum=12)
    for _ in range(50):
        capped.success(0.5, saturated=True)
    assert capped.limit == 12 and not capped.slow_start


def test_aimd_grows_on_clean_saturated_windows_and_halves_on_overload() -> None:
    control = Concurrency(None, start=8)
    control.overloaded(now=1.0)  # a 429 at once: no slow start, 8 -> 4
    assert control.limit == 4 and not control.slow_start
    for _ in range(4):
        control.success(0.01, saturated=True)
    assert control.limit == 5
    for _ in range(100):
        control.success(0.01, saturated=False)  # slots to spare: no reason to grow
    assert control.limit == 5
    control.overloaded(now=5.0)
    control.overloaded(now=5.1)  # the same burst of 429s: one cut
    assert control.limit == 2
    control.overloaded(now=6.0)
    assert control.limit == 1
    fixed = Concurrency(4)
    fixed.overloaded(now=1.0)
    fixed.success(0.01)
    assert fixed.limit == 4
