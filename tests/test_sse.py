"""The SSE decoder: framing rules, and any split of the bytes gives the same events."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from omniinfer._core.sse import SSEDecoder
from probes import split_at


def decode(*pieces: bytes) -> list[bytes]:
    decoder = SSEDecoder()
    events = [event for piece in pieces for event in decoder.feed(piece)]
    return events + decoder.close()


def test_basic_events_and_done() -> None:
    assert decode(b'data: {"a":1}\n\ndata: [DONE]\n\n') == [b'{"a":1}', b"[DONE]"]


def test_no_space_after_colon_and_comments_and_other_fields() -> None:
    body = b': keep-alive\nevent: message\nid: 3\nretry: 10\ndata:{"x":2}\n\n'
    assert decode(body) == [b'{"x":2}']


def test_multi_line_data_is_joined() -> None:
    assert decode(b"data: a\ndata: b\n\n") == [b"a\nb"]


def test_crlf_and_cr_line_endings() -> None:
    assert decode(b"data: a\r\n\r\ndata: b\r\rdata: c\n\n") == [b"a", b"b", b"c"]


def test_crlf_split_between_pieces_does_not_split_the_event() -> None:
    assert decode(b"data: a\r", b"\ndata: b\r\n\r\n") == [b"a\nb"]


def test_pending_data_at_end_of_body_is_dispatched() -> None:
    assert decode(b"data: last") == [b"last"]
    assert decode(b"data: last\n") == [b"last"]


def test_blank_lines_without_data_dispatch_nothing() -> None:
    assert decode(b"\n\n\n: ping\n\n") == []


_event = st.binary(max_size=30).filter(lambda b: b"\n" not in b and b"\r" not in b)


@given(st.lists(_event, max_size=8), st.sampled_from([b"\n", b"\r\n", b"\r"]), st.data())
def test_any_split_gives_the_same_events(payloads: list[bytes], eol: bytes, data: st.DataObject) -> None:
    body = b"".join(b"data: " + p + eol + eol for p in payloads)
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=6))
    # Exactly one space after "data:" is framing; a payload's own leading space survives.
    assert decode(*split_at(body, cuts)) == payloads


@given(st.binary(max_size=300), st.data())
def test_arbitrary_bytes_never_crash(body: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(body)))
    whole = decode(body)
    assert decode(body[:cut], body[cut:]) == whole
