"""A client's settings read as the reference's (`client.token`, `.timeout`, `.headers`, `.cookies`,
`.model`, `.provider`), and per-client proxies (`proxies=`, `trust_env=`), on both clients."""

from __future__ import annotations

import pytest

from clients import Runner
from fixture_server import FixtureServer
from omniinfer import AsyncInferenceClient, InferenceClient, Timeout
from proxy_server import ProxyServer
from samples import COMPLETION, HI, ROUTE

CLIENTS = [InferenceClient, AsyncInferenceClient]


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.mark.parametrize("cls", CLIENTS)
def test_settings_read_as_given(cls: type) -> None:
    client = cls(
        "meta-llama/Llama-3.1-8B-Instruct",
        provider="together",
        token="hf_abc",
        timeout=30,
        headers={"X-Custom": "1"},
        cookies={"session": "s"},
    )
    assert client.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert client.provider == "together"
    assert client.token == "hf_abc"
    assert client.timeout == 30
    assert client.headers == {"X-Custom": "1"}  # the user-agent is added per request, as the reference does
    assert client.cookies == {"session": "s"}
    default = cls()
    assert (default.model, default.provider, default.token, default.timeout) == (None, None, None, None)
    assert default.headers == {} and default.cookies is None
    assert cls(api_key="sk-1").token == "sk-1"
    assert cls(base_url="http://127.0.0.1:8080/v1").model == "http://127.0.0.1:8080/v1"
    phases = Timeout(read=5)
    assert cls(timeout=phases).timeout is phases
    billed = cls(bill_to="my-org", headers={"a": "b"})
    assert billed.headers == {"a": "b", "X-HF-Bill-To": "my-org"}


def test_changed_headers_go_with_later_calls(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, json=COMPLETION)
    with Runner(kind, fixture_server.url) as run:
        run("chat_completion", HI)
        run.client.headers["X-Use-Cache"] = "0"  # changed in place after a call: not a stale copy
        run("chat_completion", HI)
        run.client.headers["X-Use-Cache"] = "1"
        run("chat_completion", HI)
        del run.client.headers["X-Use-Cache"]
        run("chat_completion", HI)
    sent = [request.headers for request in fixture_server.requests]
    assert [headers.get("x-use-cache") for headers in sent] == [None, "0", "1", None]
    assert all(headers["user-agent"].startswith("omniinfer/") for headers in sent)


# --- proxies ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("proxies", ["url", {"http": "url"}, {"all": "url"}], ids=["str", "http", "all"])
def test_client_proxies_are_used(fixture_server: FixtureServer, kind: str, proxies: object) -> None:
    fixture_server.add("POST", ROUTE, json=COMPLETION)
    with ProxyServer() as proxy:
        given = proxy.url if proxies == "url" else {key: proxy.url for key in proxies}  # type: ignore[attr-defined]
        with Runner(kind, fixture_server.url, proxies=given) as run:
            assert run("chat_completion", HI).choices[0].message.content == "ok"
            assert run.client.proxies == given
    assert proxy.requests == [("POST", fixture_server.url + ROUTE, None)]


def test_client_proxies_replace_the_environments(
    fixture_server: FixtureServer, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture_server.add("POST", ROUTE, json=COMPLETION)
    with ProxyServer() as theirs, ProxyServer() as ours:
        monkeypatch.setenv("HTTP_PROXY", theirs.url)
        with Runner(kind, fixture_server.url, proxies={"http": ours.url}) as run:
            run("chat_completion", HI)
    assert theirs.requests == [] and len(ours.requests) == 1


def test_a_scheme_without_a_client_proxy_goes_direct(
    fixture_server: FixtureServer, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture_server.add("POST", ROUTE, json=COMPLETION)
    with ProxyServer() as theirs, ProxyServer() as ours:
        monkeypatch.setenv("HTTP_PROXY", theirs.url)
        with Runner(kind, fixture_server.url, proxies={"https": ours.url}) as run:
            run("chat_completion", HI)
    assert theirs.requests == [] and ours.requests == []
    assert len(fixture_server.requests) == 1


def test_trust_env_false_ignores_the_environment(
    fixture_server: FixtureServer, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture_server.add("POST", ROUTE, json=COMPLETION)
    with ProxyServer() as theirs:
        monkeypatch.setenv("HTTP_PROXY", theirs.url)
        with Runner(kind, fixture_server.url, trust_env=False) as run:
            run("chat_completion", HI)
            assert run.client.trust_env is False
    assert theirs.requests == []
    assert len(fixture_server.requests) == 1


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    ("proxies", "error", "match"),
    [
        (3128, TypeError, "`proxies` must be a proxy URL"),
        ({"ftp": "http://p:1"}, ValueError, "`proxies` keys"),
        ({"http": None}, TypeError, r"proxies\['http'\]"),
        ("socks5://p:1080", ValueError, "only http:// proxies"),
    ],
)
def test_bad_proxies_fail_early(cls: type, proxies: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        cls(proxies=proxies)


@pytest.mark.parametrize("cls", CLIENTS)
def test_bad_trust_env_fails_early(cls: type) -> None:
    with pytest.raises(TypeError, match="trust_env"):
        cls(trust_env="no")
