"""The public surface: exports, the two clients in step, the constructor's argument rules."""

from __future__ import annotations

import inspect
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import omniinfer
from omniinfer import AsyncInferenceClient, InferenceClient
from probes import loaded_after

REPO = Path(__file__).resolve().parent.parent


def _public_methods(cls: type) -> dict[str, object]:
    return {name: member for name, member in vars(cls).items() if callable(member) and not name.startswith("_")}


def test_both_clients_have_the_same_methods_and_signatures() -> None:
    sync_methods = _public_methods(InferenceClient)
    async_methods = _public_methods(AsyncInferenceClient)
    assert set(sync_methods) == set(async_methods)
    assert {"chat_completion", "text_generation", "close"} <= set(sync_methods)
    for name, method in sync_methods.items():
        other = async_methods[name]
        assert inspect.iscoroutinefunction(other), f"AsyncInferenceClient.{name} must be async"
        sync_sig, async_sig = inspect.signature(method), inspect.signature(other)  # type: ignore[arg-type]
        assert list(sync_sig.parameters.values()) == list(async_sig.parameters.values()), name
        sync_ret = str(sync_sig.return_annotation).replace("Iterator[", "AsyncIterator[")
        assert sync_ret == str(async_sig.return_annotation), name
        assert other.__doc__ == method.__doc__, name  # type: ignore[attr-defined]


def test_generated_async_client_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/gen_async_client.py", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_public_names_are_exported() -> None:
    for name in (
        "InferenceClient",
        "AsyncInferenceClient",
        "InferenceTimeoutError",
        "ChatCompletionOutput",
        "ChatCompletionStreamOutput",
        "TextGenerationOutput",
        "TextGenerationStreamOutput",
        "BadRequestError",
        "ValidationError",
        "HfHubHTTPError",
        "Timeout",
        "IncompleteStreamError",
    ):
        assert getattr(omniinfer, name) is not None
    assert issubclass(omniinfer.InferenceTimeoutError, TimeoutError)
    assert issubclass(omniinfer.BadRequestError, ValueError)
    with pytest.raises(AttributeError):
        omniinfer.DoesNotExist  # noqa: B018


def test_import_is_light() -> None:
    heavy = ("asyncio", "numpy", "PIL", "mcp", "ssl", "http.client")
    assert loaded_after("import omniinfer; omniinfer.InferenceClient", heavy) == []


def test_model_and_base_url_are_exclusive() -> None:
    with pytest.raises(ValueError, match="base_url"):
        InferenceClient(model="a", base_url="http://b")
    with pytest.raises(ValueError, match="api_key"):
        InferenceClient(token="hf_a", api_key="hf_b")
    with pytest.raises(ValueError, match="token=False"):
        InferenceClient(token=False)  # type: ignore[arg-type]
    client = InferenceClient(base_url="http://localhost:8080/v1", api_key="sk-x")
    assert client.model == "http://localhost:8080/v1"


def test_token_true_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning):
        InferenceClient(token=True)  # type: ignore[arg-type]


def test_bill_to_sets_header_without_touching_callers_dict() -> None:
    mine = {"X-Custom": "1"}
    client = InferenceClient(headers=mine, bill_to="my-org")
    assert client.headers["X-HF-Bill-To"] == "my-org"
    assert mine == {"X-Custom": "1"}
    with pytest.warns(UserWarning, match="Overriding"):
        InferenceClient(headers={"X-HF-Bill-To": "a"}, bill_to="b")
    with pytest.warns(UserWarning, match="billed directly"):
        InferenceClient(token="sk-provider", bill_to="b")


def test_repr_never_shows_the_token() -> None:
    secret = "hf_supersecrettokenvalue"
    client = InferenceClient(model="m", token=secret)
    assert secret not in repr(client)
    assert secret not in repr(vars(client))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert secret not in str(client.__dict__)


def test_bad_timeout_is_rejected_early() -> None:
    with pytest.raises(ValueError, match="timeout"):
        InferenceClient(timeout=-1)
    with pytest.raises(ValueError, match="timeout"):
        InferenceClient(timeout="10")  # type: ignore[arg-type]


def test_chat_alias_is_chat_completion() -> None:
    client = InferenceClient()
    assert client.chat.completions.create.__doc__
    assert callable(client.chat.completions.create)


def test_the_core_performs_no_io() -> None:
    """The sans-I/O boundary: flows, providers, routing and tasks import no socket or event loop."""
    code = (
        "import pkgutil, importlib\n"
        "import omniinfer._core as core, omniinfer.tasks as tasks, omniinfer.providers as providers\n"
        "for package in (core, tasks, providers):\n"
        "    for info in pkgutil.iter_modules(package.__path__):\n"
        "        importlib.import_module(package.__name__ + '.' + info.name)\n"
        "importlib.import_module('omniinfer.routing')"
    )
    assert loaded_after(code, ("socket", "asyncio", "ssl", "http.client", "selectors")) == []
