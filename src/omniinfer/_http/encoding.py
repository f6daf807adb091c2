"""Content-Encoding: what we ask for, and undoing it piece by piece as the body arrives.

gzip and deflate always (zlib); zstd and br when a module for them is importable (`compression.zstd`
on Python 3.14+, `backports.zstd` or `zstandard`; `brotli` or `brotlicffi` 1.2+, whose decoders can
stop at an output limit). Decoding is incremental, so streams stay streams, and bounded: one
`decode` call never holds much more than its caller may still accept (the size limits apply to the
decoded bytes), and when the caller sets no limit (a stream) one piece of the body may not decode to
more than a whole body may hold (`OMNIINFER_MAX_RESPONSE_BYTES`), so a bomb in a stream stops there
too. A body that ends in the middle of its coding is a ProtocolError, as is an undecodable one.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from omniinfer._core.optional import first_importable, zstd_module
from omniinfer._http.h1 import max_response_bytes
from omniinfer._http.h1_parse import Decoder
from omniinfer.errors import ProtocolError, ResponseTooLargeError

# RFC 9659: a zstd content coding uses a window of at most 8 MiB, and a decoder may refuse more
# (a frame may otherwise make us hold up to 128 MiB of window per connection).
_ZSTD_WINDOW_LOG_MAX = 23
# A zstd block decodes to at most 128 KiB and takes at least 4 bytes (an RLE block: a 3-byte header
# and the byte): feeding `n` bytes yields at most (n // 4 + 1) blocks' worth of output.
_ZSTD_BLOCK = 128 * 1024
_ZSTD_MIN_SLICE = 64  # at most 17 blocks (~2 MiB) past the limit when the budget is nearly spent
_BROTLI_STEP = 1 << 20  # output asked of brotli per call; its buffer stops growing past it


@lru_cache(maxsize=1)
def _brotli_module() -> Any:
    """A brotli binding whose decoder can be told to stop at an output limit (1.2+): an older one
    would decode a bomb whole before we could look at its size, so it is not used."""
    for name in ("brotli", "brotlicffi"):
        module = first_importable(name)
        if module is not None and hasattr(module.Decompressor, "can_accept_more_data"):
            return module
    return None


@lru_cache(maxsize=1)
def accept_encoding() -> str:
    """The Accept-Encoding value sent with every request (computed once: it imports modules)."""
    codings = ["gzip", "deflate"]
    if zstd_module() is not None:
        codings.append("zstd")
    if _brotli_module() is not None:
        codings.append("br")
    return ", ".join(codings)


def _too_large(name: str) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"The decoded response body is larger than the limit (OMNIINFER_MAX_RESPONSE_BYTES): {name}"
    )


class _Bounded(Decoder):
    """What the decoders share: their name, whether any input came (a body of no bytes at all has
    nothing to undo), and the output bound of one call: the caller's, or when it sets none (a
    stream) what a whole body may hold, read at the stream's first piece."""

    __slots__ = ("_cap", "_fed", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._fed = False
        self._cap = 0

    def _limit(self, max_out: int) -> int:
        self._fed = True
        if max_out > 0:
            return max_out
        if not self._cap:
            self._cap = max_response_bytes()
        return self._cap

    def _cut(self) -> ProtocolError:
        return ProtocolError(f"The {self._name} response body ended before its end")


class _Zlib(_Bounded):
    __slots__ = ("_ended", "_obj", "_raw_fallback")

    def __init__(self, name: str, wbits: int) -> None:
        super().__init__(name)
        self._obj = zlib.decompressobj(wbits)
        self._raw_fallback = name == "deflate"  # "deflate" is zlib-wrapped by the RFC, raw by some servers
        self._ended = False  # what follows the last gzip member is not one: dropped from here on

    def decode(self, data: bytes, max_out: int = 0) -> bytes:
        limit = self._limit(max_out)
        if self._ended:
            return b""
        try:
            out = self._obj.decompress(data, limit)
        except zlib.error:
            if not self._raw_fallback:
                raise ProtocolError(f"Undecodable {self._name} response body") from None
            self._raw_fallback = False
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.decode(data, max_out)
        self._raw_fallback = False
        # A gzip body may be several members in a row (RFC 1952 2.2, what `cat a.gz b.gz` makes): each
        # next one gets a decoder of its own. Bytes after a member that do not start one are dropped,
        # as other clients do (the answer before them is whole: each member carries its own CRC).
        while self._name == "gzip" and self._obj.eof and self._obj.unused_data and len(out) < limit:
            follower = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                more = follower.decompress(self._obj.unused_data, limit - len(out))
            except zlib.error:
                self._ended = True
                break
            self._obj = follower
            out += more
        if self._obj.unconsumed_tail or len(out) >= limit:  # a bomb, or just too big
            raise _too_large(self._name)
        return out

    def flush(self) -> bytes:
        if self._fed and not self._obj.eof:
            raise self._cut()
        return b""


class _Zstd(_Bounded):
    """zstd, frame after frame (a body may hold several: RFC 8878). The modules' frame decoders
    (`decompress(data)`, `eof`, `unused_data`) have no output bound in every version, so the input
    goes in slices no larger than the remaining budget can absorb even from a bomb."""

    __slots__ = ("_new", "_obj")

    def __init__(self, new: Callable[[], Any]) -> None:
        super().__init__("zstd")
        self._new = new
        self._obj = new()

    def decode(self, data: bytes, max_out: int = 0) -> bytes:
        limit = self._limit(max_out)
        view = memoryview(data)
        out: list[bytes] = []
        produced = 0
        while view:
            if self._obj.eof:  # the previous frame ended: the next one starts here
                self._obj = self._new()
            piece = view[: max(_ZSTD_MIN_SLICE, (limit - produced) // _ZSTD_BLOCK * 4)]
            try:
                decoded = self._obj.decompress(piece)
            except Exception as exc:  # each module has its own error class
                raise ProtocolError(f"Undecodable zstd response body: {exc}") from None
            view = view[len(piece) - len(self._obj.unused_data) if self._obj.eof else len(piece) :]
            produced += len(decoded)
            if produced >= limit:
                raise _too_large(self._name)
            out.append(decoded)
        return out[0] if len(out) == 1 else b"".join(out)

    def flush(self) -> bytes:
        if self._fed and not self._obj.eof:
            raise self._cut()
        return b""


class _Brotli(_Bounded):
    """br through a decoder that stops growing its output at the limit given (brotli 1.2+)."""

    __slots__ = ("_error", "_obj")

    def __init__(self, module: Any) -> None:
        super().__init__("br")
        self._obj = module.Decompressor()
        self._error: type[Exception] = module.error

    def decode(self, data: bytes, max_out: int = 0) -> bytes:
        limit = self._limit(max_out)
        obj = self._obj
        out: list[bytes] = []
        produced = 0
        asked = min(limit, _BROTLI_STEP)
        try:
            decoded = obj.process(data, output_buffer_limit=asked)
            while True:
                produced += len(decoded)
                if produced >= limit:
                    raise _too_large(self._name)
                out.append(decoded)
                # Output that filled what was asked may have more behind it, which the C binding's
                # can_accept_more_data() does not tell (it looks only at input held back).
                if not decoded or (len(decoded) < asked and obj.can_accept_more_data()):
                    break
                asked = min(limit - produced, _BROTLI_STEP)
                decoded = obj.process(b"", output_buffer_limit=asked)
        except self._error as exc:
            raise ProtocolError(f"Undecodable br response body: {exc}") from None
        return out[0] if len(out) == 1 else b"".join(out)

    def flush(self) -> bytes:
        if self._fed and not self._obj.is_finished():
            raise self._cut()
        return b""


class _Chain(Decoder):
    """Several codings ("gzip, br"), undone last first."""

    __slots__ = ("_decoders",)

    def __init__(self, decoders: list[Decoder]) -> None:
        self._decoders = decoders

    def decode(self, data: bytes, max_out: int = 0) -> bytes:
        for decoder in self._decoders:
            data = decoder.decode(data, max_out)
        return data

    def flush(self) -> bytes:
        data = b""
        for decoder in self._decoders:
            data = (decoder.decode(data) if data else b"") + decoder.flush()
        return data


def _zstd_decoder() -> Decoder | None:
    module = zstd_module()
    if module is None:
        return None
    if hasattr(module, "DecompressionParameter"):  # compression.zstd, backports.zstd
        options = {module.DecompressionParameter.window_log_max: _ZSTD_WINDOW_LOG_MAX}
        return _Zstd(lambda: module.ZstdDecompressor(options=options))
    context = module.ZstdDecompressor(max_window_size=1 << _ZSTD_WINDOW_LOG_MAX)  # zstandard
    return _Zstd(context.decompressobj)


def _one(coding: str) -> Decoder | None:
    if coding in ("gzip", "x-gzip"):
        return _Zlib("gzip", 16 + zlib.MAX_WBITS)
    if coding == "deflate":
        return _Zlib("deflate", zlib.MAX_WBITS)
    if coding == "zstd":
        decoder = _zstd_decoder()
        if decoder is not None:
            return decoder
    if coding == "br":
        brotli = _brotli_module()
        if brotli is not None:
            return _Brotli(brotli)
    if coding == "identity":
        return None
    raise ProtocolError(f"The response uses Content-Encoding {coding!r}, which was not asked for")


def decoder_for(value: str) -> Decoder | None:
    """The decoder for a Content-Encoding header value, None for identity."""
    decoders = [d for d in (_one(c.strip().lower()) for c in reversed(value.split(",")) if c.strip()) if d]
    if not decoders:
        return None
    return decoders[0] if len(decoders) == 1 else _Chain(decoders)
