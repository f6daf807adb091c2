"""HTTP proxies from the environment, as curl and requests read them.

`https_proxy` / `HTTPS_PROXY` for https URLs (tunnelled with CONNECT, TLS end to end with the
server), `http_proxy` / `HTTP_PROXY` for http URLs (requests sent in absolute form), `all_proxy`
for both, and `no_proxy` / `NO_PROXY` (comma-separated hosts or domain suffixes, `*` for all) to go
direct. Credentials in the proxy URL (`http://user:pass@proxy:3128`) become `Proxy-Authorization`.
Read when a connection is opened, so they may change between calls. In a CGI process (where
`REQUEST_METHOD` is set) the upper-case `HTTP_PROXY` is ignored ("httpoxy"), as requests does.
"""

from __future__ import annotations

import base64
import os
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from omniinfer._http.h1 import Origin


class Proxy(NamedTuple):
    origin: Origin
    authorization: str | None  # the Proxy-Authorization header value, when the URL holds credentials


def _env(*names: str) -> str:
    # httpoxy: in a CGI process (REQUEST_METHOD set) HTTP_PROXY is the request's own `Proxy:` header,
    # chosen by whoever sent the request; only the lower-case http_proxy can come from the operator.
    cgi = "REQUEST_METHOD" in os.environ
    for name in names:
        value = os.environ.get(name)
        if not value and not (cgi and name == "http_proxy"):
            value = os.environ.get(name.upper())
        if value:
            return value.strip()
    return ""


def bypassed(host: str, no_proxy: str) -> bool:
    """Whether `host` is listed in a no_proxy value (exact host or domain suffix, `*` for all)."""
    host = host.lower().strip("[]")
    for entry in (part.strip().lower() for part in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        if not entry.startswith("[") and entry.count(":") == 1:
            entry = entry.split(":")[0]  # "host:port": the port does not matter here
        entry = entry.strip("[]").lstrip(".")
        if host == entry or host.endswith("." + entry):
            return True
    return False


def proxy_for(origin: Origin) -> Proxy | None:
    """The proxy to reach `origin` through, or None to connect directly."""
    scheme = "https_proxy" if origin.tls else "http_proxy"
    url = _env(scheme, "all_proxy")
    if not url or bypassed(origin.host, _env("no_proxy")):
        return None
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"{scheme.upper()}={url!r}: only http:// proxies are supported")
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
    return Proxy(Origin("http", parts.hostname, parts.port or 80), authorization)


def connect_request(origin: Origin, proxy: Proxy) -> bytes:
    """The CONNECT request that opens a tunnel to `origin` through `proxy`."""
    authority = f"[{origin.host}]:{origin.port}" if ":" in origin.host else f"{origin.host}:{origin.port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if proxy.authorization:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def tunnel_refused(status: int, reason: str, origin: Origin, proxy: Proxy) -> str:
    hint = " (the proxy wants credentials: http://user:password@host:port)" if status == 407 else ""
    return (
        f"Proxy {proxy.origin.host}:{proxy.origin.port} refused the tunnel to {origin.host}:{origin.port}: "
        f"{status} {reason}{hint}"
    )
