"""Proxies from the environment: absolute-form for http URLs, CONNECT tunnels for https, NO_PROXY."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from clients import Runner
from fixture_server import FixtureServer
from omniinfer import InferenceConnectionError
from omniinfer._core.jsonutil import dumps
from omniinfer._http.h1 import Origin
from omniinfer._http.proxy import bypassed, proxy_for
from omniinfer._http.tls import default_context
from proxy_server import ProxyServer
from samples import COMPLETION, HI, ROUTE

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def _clean_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_proxy_for_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    https = Origin("https", "api.together.xyz", 443)
    assert proxy_for(https) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://user:p%40ss@proxy.internal:3128")
    proxy = proxy_for(https)
    assert proxy is not None and proxy.origin == Origin("http", "proxy.internal", 3128)
    assert proxy.authorization == "Basic dXNlcjpwQHNz"  # user:p@ss
    assert proxy_for(Origin("http", "localhost", 8080)) is None  # http URLs read http_proxy
    monkeypatch.setenv("no_proxy", "localhost,.together.xyz")
    assert proxy_for(https) is None
    monkeypatch.setenv("https_proxy", "socks5://proxy:1080")
    monkeypatch.setenv("no_proxy", "")
    with pytest.raises(ValueError, match="only http:// proxies"):
        proxy_for(https)


@pytest.mark.parametrize(
    ("host", "no_proxy", "expected"),
    [
        ("api.example.com", "example.com", True),
        ("api.example.com", ".example.com", True),
        ("example.com", "example.com:443", True),
        ("badexample.com", "example.com", False),
        ("anything", "*", True),
        ("127.0.0.1", "localhost, 127.0.0.1", True),
        ("::1", "[::1]", True),
        ("host", "", False),
    ],
)
def test_no_proxy_matching(host: str, no_proxy: str, expected: bool) -> None:
    assert bypassed(host, no_proxy) is expected


def test_http_url_goes_through_the_proxy_in_absolute_form(
    fixture_server: FixtureServer, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture_server.add("POST", ROUTE, json=COMPLETION)
    with ProxyServer() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://me:secret@"))
        with Runner(kind, fixture_server.url) as run:
            assert run("chat_completion", HI).choices[0].message.content == "ok"
    assert proxy.requests == [("POST", fixture_server.url + ROUTE, "Basic bWU6c2VjcmV0")]
    assert "proxy-authorization" not in fixture_server.requests[0].headers  # the proxy kept it


def test_no_proxy_goes_direct(fixture_server: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> None:
    fixture_server.add("POST", ROUTE, json=COMPLETION)
    with ProxyServer() as proxy:
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        with Runner("sync", fixture_server.url) as run:
            run("chat_completion", HI)
    assert proxy.requests == []


# --- https through a CONNECT tunnel, to a TLS server with a certificate made for the test -------------


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trusted like a corporate CA: verification stays on
    default_context.cache_clear()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.05)
    stop = threading.Event()
    body = dumps(COMPLETION)

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(raw, server_side=True) as conn:
                    conn.settimeout(5)
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += conn.recv(65536)
                    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    conn.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            except (OSError, ssl.SSLError):
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    listener.close()
    default_context.cache_clear()


def test_https_url_is_tunnelled_with_connect(tls_server: str, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with ProxyServer() as proxy:
        monkeypatch.setenv("https_proxy", proxy.url)
        with Runner(kind, tls_server) as run:
            assert run("chat_completion", HI).choices[0].message.content == "ok"
    assert proxy.requests == [("CONNECT", tls_server.removeprefix("https://"), None)]


def test_a_refused_tunnel_is_a_connection_error(tls_server: str, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with ProxyServer(refuse_with=407) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        with Runner(kind, tls_server, max_retries=0) as run, pytest.raises(InferenceConnectionError, match="407"):
            run("chat_completion", HI)
