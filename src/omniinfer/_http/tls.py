"""The TLS context, made once and only when an https URL is first used (ssl costs import time).

Which certificates are trusted, first match wins:
1. `SSL_CERT_FILE` / `SSL_CERT_DIR` (OpenSSL reads them itself);
2. `REQUESTS_CA_BUNDLE`, then `CURL_CA_BUNDLE` (a file or a directory), as requests and curl do;
3. the operating system's trust store through `truststore`, when it is installed
   (`pip install truststore`): corporate and user-added roots work as in a browser;
4. OpenSSL's default paths.
"""

from __future__ import annotations

import functools
import os
import ssl


@functools.lru_cache(maxsize=1)
def default_context() -> ssl.SSLContext:
    """Verification is always on: there is deliberately no switch to turn it off."""
    context = _verifying_context()
    context.set_alpn_protocols(["http/1.1"])
    return context


def _verifying_context() -> ssl.SSLContext:
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context()
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        if os.path.isdir(bundle):
            return ssl.create_default_context(capath=bundle)
        return ssl.create_default_context(cafile=bundle)
    try:
        import truststore
    except ImportError:
        return ssl.create_default_context()
    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
