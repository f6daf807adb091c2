"""text_to_image through hf-inference and fal-ai (recorded), and an endpoint (scripted)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cassettes import assert_sent_as_recorded, load, posts
from clients import Runner
from fixture_server import FixtureServer


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def test_hf_inference(hub: FixtureServer, kind: str) -> None:
    recorded = load(hub, "TestInferenceClient.test_text_to_image_default[hf-inference,text-to-image]")
    with Runner(kind, "CompVis/stable-diffusion-v1-4", provider="hf-inference") as run:
        image = run("text_to_image", "An astronaut riding a horse on the moon.")
    assert isinstance(image, Image.Image)
    assert image.size[0] > 0
    sent = posts(hub)[0]
    assert sent.headers["accept"] == "image/png"
    assert sent.headers["content-type"] == "application/json"
    assert_sent_as_recorded(hub, recorded)


def test_fal_ai_through_the_router_downloads_without_token(hub: FixtureServer, kind: str) -> None:
    recorded = load(hub, "TestInferenceClient.test_text_to_image_default[fal-ai,text-to-image]")
    with Runner(kind, "black-forest-labs/FLUX.1-dev", provider="fal-ai", token="hf_secret") as run:
        image = run("text_to_image", "An astronaut riding a horse on the moon.")
    assert image.size == (1024, 768)
    assert_sent_as_recorded(hub, recorded)
    download = [r for r in hub.requests if r.host == "v3.fal.media"]
    assert len(download) == 1 and "authorization" not in download[0].headers
    assert posts(hub)[0].headers["authorization"] == "Bearer hf_secret"


def test_fal_ai_direct_key_and_image_size(fixture_server: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", fixture_server.host_url("huggingface.co"))
    monkeypatch.setenv("OMNIINFER_BASE_URL_FAL_AI", fixture_server.host_url("fal.run"))
    mapping = {"fal-ai": {"status": "live", "providerId": "fal-ai/x", "task": "text-to-image"}}
    fixture_server.add(
        "GET", "/api/models/org/model", host="huggingface.co", json={"inferenceProviderMapping": mapping}
    )
    fixture_server.add(
        "POST",
        "/fal-ai/x",
        host="fal.run",
        json={"images": [{"url": fixture_server.host_url("cdn.example") + "/a.png"}]},
    )
    fixture_server.add("GET", "/a.png", host="cdn.example", body=_png(), headers={"Content-Type": "image/png"})
    with Runner("sync", "org/model", provider="fal-ai", api_key="fal-key") as run:
        image = run("text_to_image", "a cat", width=64, height=32, seed=1, extra_body={"sync_mode": True})
    assert image.size == (3, 2)
    sent = posts(fixture_server)[0]
    assert sent.headers["authorization"] == "Key fal-key"
    assert sent.json() == {"prompt": "a cat", "image_size": {"width": 64, "height": 32}, "seed": 1, "sync_mode": True}


def test_endpoint_url(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/deploy", body=_png(), headers={"Content-Type": "image/png"})
    with Runner(kind) as run:
        image = run("text_to_image", "x", model=fixture_server.url + "/deploy", negative_prompt="blur")
    assert image.size == (3, 2)
    assert posts(fixture_server)[0].json() == {"inputs": "x", "parameters": {"negative_prompt": "blur"}}
