"""HTTP proxies: the client's own (`proxies=`), else the environment's, as curl and requests read them.

`https_proxy` / `HTTPS_PROXY` for https URLs (tunnelled with CONNECT, TLS end to end with the
server), `http_proxy` / `HTTP_PROXY` for http URLs (requests sent in absolute form), `all_proxy`
for both, and `no_proxy` / `NO_PROXY` (comma-separated hosts or domain suffixes, `*` for all) to go
direct. Credentials in the proxy URL (`http://user:pass@proxy:3128`) become `Proxy-Authorization`.
Read when a connection is opened, so they may change between calls. A client given `proxies=` (one
URL for every scheme, or `{"http": ..., "https": ..., "all": ...}` as requests takes them) uses
those in place of the environment's; `trust_env=False` ignores the environment altogether. In a CGI
process (where `REQUEST_METHOD` is set) the upper-case `HTTP_PROXY` is ignored ("httpoxy"), as
requests does.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
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


class ProxySettings(NamedTuple):
    """A client's proxy settings: `by_scheme` maps "http"/"https"/"all" to a proxy URL."""

    by_scheme: Mapping[str, str]
    trust_env: bool = True
    given: str | dict[str, str] | None = None


_SCHEMES = ("http", "https", "all")
ENVIRONMENT = ProxySettings({})


def proxy_settings(proxies: str | Mapping[str, str] | None, trust_env: bool = True) -> ProxySettings:
    """Validate a client's `proxies=` and `trust_env=` (early, naming the argument)."""
    if not isinstance(trust_env, bool):
        raise TypeError(f"`trust_env` must be True or False, got {trust_env!r}")
    if proxies is None:
        return ProxySettings({}, trust_env) if not trust_env else ENVIRONMENT
    if isinstance(proxies, str):
        by_scheme = {"all": proxies}
        given: str | dict[str, str] = proxies
    elif isinstance(proxies, Mapping):
        by_scheme = dict(proxies)
        given = dict(proxies)
        unknown = [key for key in by_scheme if key not in _SCHEMES]
        if unknown:
            raise ValueError(f"`proxies` keys must be among {list(_SCHEMES)}, got {unknown}")
    else:
        raise TypeError(
            f"`proxies` must be a proxy URL (str) or a dict of them by scheme, got {type(proxies).__name__}"
        )
    for key, url in by_scheme.items():
        if not isinstance(url, str) or not url:
            raise TypeError(f"`proxies[{key!r}]` must be a proxy URL (str), got {url!r}")
        _parse(url, f"proxies[{key!r}]")
    return ProxySettings(by_scheme, trust_env, given)


def proxy_for(origin: Origin, settings: ProxySettings = ENVIRONMENT) -> Proxy | None:
    """The proxy to reach `origin` through, or None to connect directly."""
    scheme = "https_proxy" if origin.tls else "http_proxy"
    own = settings.by_scheme
    url = (own.get(scheme[:-6]) or own.get("all") or "") if own else ""
    if not url and settings.trust_env and not own:
        url = _env(scheme, "all_proxy")
    if not url or (settings.trust_env and bypassed(origin.host, _env("no_proxy"))):
        return None
    return _parse(url, scheme.upper())


def _parse(url: str, name: str) -> Proxy:
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"{name}={url!r}: only http:// proxies are supported")
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
