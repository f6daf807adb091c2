"""Content-Encoding: what we ask for, and undoing it piece by piece as the body arrives.

gzip and deflate always (zlib); zstd and br when a module for them is importable (`compression.zstd`
on Python 3.14+ or `zstandard`; `brotli` or `brotlicffi`). Decoding is incremental, so streams stay
streams, and bounded: `decode` never returns more than its caller may still accept (the size
limits apply to the decoded bytes).
"""

from __future__ import annotations

import importlib
import zlib
from functools import lru_cache
from typing import Any

from omniinfer._http.h1_parse import Decoder
from omniinfer.errors import ProtocolError, ResponseTooLargeError


def _module(*names: str) -> Any:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


@lru_cache(maxsize=1)
def accept_encoding() -> str:
    """The Accept-Encoding value sent with every request (computed once: it imports modules)."""
    codings = ["gzip", "deflate"]
    if _module("compression.zstd", "zstandard") is not None:
        codings.append("zstd")
    if _module("brotli", "brotlicffi") is not None:
        codings.append("br")
    return ", ".join(codings)


class _Zlib(Decoder):
    __slots__ = ("_name", "_obj", "_raw_fallback")

    def __init__(self, name: str, wbits: int) -> None:
        self._name = name
        self._obj = zlib.decompressobj(wbits)
        self._raw_fallback = name == "deflate"  # "deflate" is zlib-wrapped by the RFC, raw by some servers

    def decode(self, data: bytes, max_out: int = 0) -> bytes:
        try:
            out = self._obj.decompress(data, max_out)
        except zlib.error:
            if not self._raw_fallback:
                raise ProtocolError(f"Undecodable {self._name} response body") from None
            self._raw_fallback = False
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.decode(data, max_out)
        self._raw_fallback = False
        if self._obj.unconsumed_tail:  # more output than the caller may accept: a bomb, or just too big
            raise ResponseTooLargeError(
                f"The decoded response body is larger than the limit (OMNIINFER_MAX_RESPONSE_BYTES): {self._name}"
            )
        return out

    def flush(self) -> bytes:
        if not self._obj.eof:
            raise ProtocolError(f"The {self._name} response body ended before its end")
        return b""


class _Module(Decoder):
    """zstd or br through the first module found; output bounded after the fact (these APIs have
    no output cap per call in every version)."""

    __slots__ = ("_name", "_process")

    def __init__(self, name: str, process: Any) -> None:
        self._name = name
        self._process = process

    def decode(self, data: bytes, max_out: int = 0) -> bytes:
        try:
            return bytes(self._process(data))
        except Exception as exc:
            raise ProtocolError(f"Undecodable {self._name} response body: {exc}") from None

    def flush(self) -> bytes:
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


def _one(coding: str) -> Decoder | None:
    if coding in ("gzip", "x-gzip"):
        return _Zlib("gzip", 16 + zlib.MAX_WBITS)
    if coding == "deflate":
        return _Zlib("deflate", zlib.MAX_WBITS)
    if coding == "zstd":
        zstd = _module("compression.zstd")
        if zstd is not None:
            return _Module("zstd", zstd.ZstdDecompressor().decompress)
        zstandard = _module("zstandard")
        if zstandard is not None:
            return _Module("zstd", zstandard.ZstdDecompressor().decompressobj().decompress)
    if coding == "br":
        brotli = _module("brotli", "brotlicffi")
        if brotli is not None:
            return _Module("br", brotli.Decompressor().process)
    if coding == "identity":
        return None
    raise ProtocolError(f"The response uses Content-Encoding {coding!r}, which was not asked for")


def decoder_for(value: str) -> Decoder | None:
    """The decoder for a Content-Encoding header value, None for identity."""
    decoders = [d for d in (_one(c.strip().lower()) for c in reversed(value.split(",")) if c.strip()) if d]
    if not decoders:
        return None
    return decoders[0] if len(decoders) == 1 else _Chain(decoders)
