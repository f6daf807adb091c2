"""The TLS context, made once and only when an https URL is first used (ssl costs import time).

Which certificates are trusted, first match wins:
1. `SSL_CERT_FILE` / `SSL_CERT_DIR` (OpenSSL reads them itself);
2. `REQUESTS_CA_BUNDLE`, then `CURL_CA_BUNDLE` (a file or a directory), as requests and curl do;
   one that cannot be read is an InferenceConnectionError naming the variable;
3. the operating system's trust store through `truststore`, when it is installed
   (`pip install truststore`): corporate and user-added roots work as in a browser, and the store
   is asked at each new connection (on Linux it is OpenSSL's default paths, which
   `SSL_CERT_FILE`/`SSL_CERT_DIR` move, read at each handshake);
4. OpenSSL's default paths, read once.
"""

from __future__ import annotations

import functools
import os
import ssl

from omniinfer.errors import InferenceConnectionError


@functools.lru_cache(maxsize=1)
def default_context() -> ssl.SSLContext:
    """Verification is always on: there is deliberately no switch to turn it off."""
    context = _verifying_context()
    context.set_alpn_protocols(["http/1.1"])
    return context


def _verifying_context() -> ssl.SSLContext:
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context()
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        bundle = os.environ.get(name)
        if bundle:
            return _bundle_context(name, bundle)
    try:
        import truststore
    except ImportError:
        return ssl.create_default_context()
    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _bundle_context(name: str, bundle: str) -> ssl.SSLContext:
    try:
        if os.path.isdir(bundle):
            return ssl.create_default_context(capath=bundle)
        return ssl.create_default_context(cafile=bundle)
    except OSError as exc:  # missing, unreadable, or no certificate in it (ssl.SSLError)
        # Typed the same on both clients (the async one makes the context outside its connection
        # error handling): not a bare FileNotFoundError or SSLError.
        raise InferenceConnectionError(f"{name}={bundle!r} cannot be used as CA certificates: {exc}") from exc
