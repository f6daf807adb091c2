"""The wire against real servers on loopback: uvicorn (h11 and httptools), aiohttp, nginx with TLS,
and tinyproxy as an http and a CONNECT proxy. Each answers a chat call and a stream on both clients,
with keep-alive reuse and gzip where the server offers it.

nginx and tinyproxy are Debian packages that `scripts/install_wire_peers.sh` (run by
`scripts/test.sh`) installs; where one is missing these tests fail loudly, unless
OMNIINFER_SKIP_PEERS=1 (a quick local run) turns them into skips.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from certs import make_certs
from clients import Runner
from omniinfer._http import tls
from samples import DONE, HI, chunk, completion

COMPLETION = orjson.dumps(completion("real"))
STREAM = b"".join(b"data: " + orjson.dumps(chunk(t)) + b"\n\n" for t in "abc") + DONE.encode()


def _unavailable(reason: str) -> None:
    if os.environ.get("OMNIINFER_SKIP_PEERS") == "1":
        pytest.skip(reason)
    pytest.fail(reason + " (scripts/install_wire_peers.sh installs it; OMNIINFER_SKIP_PEERS=1 skips)", pytrace=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, what: str) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start on port {port}")


def _check(kind: str, url: str, stream_url: str | None = None) -> None:
    with Runner(kind) as run:
        for _ in range(3):  # the second and third calls reuse the connection
            assert run("chat_completion", HI, model=url).choices[0].message.content == "real"
            chunks = run("chat_completion", HI, model=stream_url or url, stream=True)
            assert [c.choices[0].delta.content for c in chunks] == list("abc")


# uvicorn with each of its HTTP implementations


async def _asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if b'"stream":true' in body:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        for line in STREAM.split(b"\n\n")[:-1]:
            await send({"type": "http.response.body", "body": line + b"\n\n", "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": COMPLETION})


@pytest.fixture(params=["h11", "httptools"])
def uvicorn_url(request: pytest.FixtureRequest) -> Iterator[str]:
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(_asgi, host="127.0.0.1", port=port, http=request.param, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait_port(port, "uvicorn")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_uvicorn(uvicorn_url: str, kind: str) -> None:
    _check(kind, uvicorn_url)


# aiohttp, gzip-compressed answers included


@pytest.fixture
def aiohttp_url() -> Iterator[str]:
    from aiohttp import web

    async def handle(request: web.Request) -> web.StreamResponse:
        payload = await request.json()
        if payload.get("stream"):
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            response.enable_compression()
            await response.prepare(request)
            for line in STREAM.split(b"\n\n")[:-1]:
                await response.write(line + b"\n\n")
            await response.write_eof()
            return response
        response = web.Response(body=COMPLETION, content_type="application/json")
        response.enable_compression()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handle)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    port = _free_port()
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def test_aiohttp_with_gzip(aiohttp_url: str, kind: str) -> None:
    _check(kind, aiohttp_url)


# nginx with TLS (and gzip), and tinyproxy in front of it


@pytest.fixture(scope="module")
def nginx_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        _unavailable("nginx is not installed")
    assert nginx is not None
    root = tmp_path_factory.mktemp("nginx")
    make_certs(root)
    (root / "completion.json").write_bytes(COMPLETION)
    (root / "stream.txt").write_bytes(STREAM)
    port = _free_port()
    (root / "nginx.conf").write_text(f"""
daemon off;
user root root;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    gzip on;
    gzip_min_length 1;
    gzip_types application/json text/event-stream;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {root}/srv.pem;
        ssl_certificate_key {root}/srv.key;
        root {root};
        error_page 405 =200 $uri;
        location = /v1/chat/completions {{ rewrite ^ /completion.json last; }}
        location = /stream/v1/chat/completions {{ rewrite ^ /stream.txt last; }}
        location = /stream.txt {{ default_type text/event-stream; }}
        location = /completion.json {{ default_type application/json; }}
    }}
}}
""")
    process = subprocess.Popen([nginx, "-c", str(root / "nginx.conf"), "-p", str(root)], stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, "nginx")
        yield f"https://127.0.0.1:{port}", root / "ca.pem"
    finally:
        process.send_signal(signal.SIGQUIT)
        process.wait(10)


@pytest.fixture
def trust_test_ca(nginx_tls: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(nginx_tls[1]))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    tls.default_context.cache_clear()
    yield nginx_tls[0]
    tls.default_context.cache_clear()


def test_nginx_over_tls_with_gzip(trust_test_ca: str, kind: str) -> None:
    _check(kind, trust_test_ca, trust_test_ca + "/stream")


@pytest.fixture(scope="module")
def tinyproxy_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("tinyproxy") or ("/usr/bin/tinyproxy" if Path("/usr/bin/tinyproxy").exists() else None)
    if binary is None:
        _unavailable("tinyproxy is not installed")
    assert binary is not None
    root = tmp_path_factory.mktemp("tinyproxy")
    port = _free_port()
    (root / "tinyproxy.conf").write_text(
        f"Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nAllow 127.0.0.1\n"
        f'LogLevel Error\nLogFile "{root}/log"\nPidFile "{root}/pid"\n'
    )
    process = subprocess.Popen([binary, "-d", "-c", str(root / "tinyproxy.conf")])
    try:
        _wait_port(port, "tinyproxy")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def test_tinyproxy_connect_tunnel_to_nginx_tls(
    trust_test_ca: str, tinyproxy_url: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("https_proxy", tinyproxy_url)
    _check(kind, trust_test_ca, trust_test_ca + "/stream")


def test_tinyproxy_http_proxy_to_uvicorn(
    uvicorn_url: str, tinyproxy_url: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", tinyproxy_url)
    _check(kind, uvicorn_url)
