"""Recorded router interactions replayed on both clients: text-to-image on six providers, fal-ai
speech recognition, replicate text-to-speech (whose recording is a prediction still starting)."""

from __future__ import annotations

import base64
import warnings

import pytest
from PIL import Image

from cassettes import assert_sent_as_recorded, load, posts
from clients import Runner
from fixture_server import FixtureServer
from omniinfer import AutomaticSpeechRecognitionOutput, InferenceTimeoutError
from omniinfer.providers import env_name

PROMPT = "An astronaut riding a horse on the moon."


def _text_to_image(provider: str) -> str:
    return f"TestInferenceClient.test_text_to_image_default[{provider},text-to-image]"


@pytest.mark.parametrize(
    ("provider", "kwargs"),
    [
        ("black-forest-labs", {}),
        ("hyperbolic", {}),  # the route's default size (512) is what was recorded
        ("nebius", {"width": 512, "height": 512}),
        ("replicate", {}),
        ("together", {}),
    ],
)
def test_text_to_image_through_the_router(hub: FixtureServer, kind: str, provider: str, kwargs: dict[str, int]) -> None:
    recorded = load(hub, _text_to_image(provider))
    hf_model = recorded[0].path.removeprefix("/api/models/")
    with Runner(kind, hf_model, provider=provider, token="hf_cassette") as run, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*staging mode", category=UserWarning)  # bfl, hyperbolic were
        image = run("text_to_image", PROMPT, **kwargs)
    assert isinstance(image, Image.Image)
    assert image.size[0] > 0
    assert_sent_as_recorded(hub, recorded)
    sent = posts(hub)[0]
    assert sent.headers["authorization"] == "Bearer hf_cassette"
    assert sent.headers["accept"] == "image/png"
    gets = [r for r in hub.requests if r.method == "GET" and r.host not in ("huggingface.co", "router.huggingface.co")]
    assert all("authorization" not in r.headers for r in gets)  # polls on bfl.ai and file downloads


def test_black_forest_labs_polls_until_ready(hub: FixtureServer) -> None:
    load(hub, _text_to_image("black-forest-labs"))
    with Runner("sync", "black-forest-labs/FLUX.1-dev", provider="black-forest-labs", token="hf_t") as run:
        with pytest.warns(UserWarning, match="staging"):  # as recorded
            run("text_to_image", PROMPT)
    polls = [r for r in hub.requests if r.host == "api.us1.bfl.ai"]
    assert len(polls) == 4  # three times Pending, then Ready
    assert all(r.path == "/v1/get_result" and r.headers["content-type"] == "application/json" for r in polls)


def test_fal_ai_speech_recognition(hub: FixtureServer, kind: str) -> None:
    name = "TestInferenceClient.test_automatic_speech_recognition[fal-ai,automatic-speech-recognition]"
    recorded = load(hub, name)
    audio_url = recorded[1].json()["audio_url"]
    audio = base64.b64decode(audio_url.partition(",")[2])  # the recorded sample (FLAC)
    with Runner(kind, "openai/whisper-large-v3", provider="fal-ai", token="hf_t") as run:
        output = run("automatic_speech_recognition", audio)
    assert isinstance(output, AutomaticSpeechRecognitionOutput)
    assert output.text == " A man said to the universe, Sir, I exist."
    assert output.chunks[0].timestamp == [0.0, 4.08]
    assert_sent_as_recorded(hub, recorded)  # sent inline as audio/mpeg, as recorded


REPLICATE_TTS = "TestInferenceClient.test_text_to_speech[replicate,text-to-speech]"
PREDICTION = "/v1/predictions/2ea92hmwgnrga0cmpp9rj00evw"


def _replicate_direct(hub: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The recording is a direct call: a replicate key, replicate's own host (here: our server)."""
    monkeypatch.setenv(env_name("replicate"), hub.host_url("api.replicate.com"))
    mapping = {
        "replicate": {
            "status": "live",
            "providerId": "jaaari/kokoro-82m:dfdf537ba482b029e0a761699e6f55e9162cfd159270bfe0e44857caa5f275a6",
            "task": "text-to-speech",
        }
    }
    hub.add("GET", "/api/models/hexgrad/Kokoro-82M", host="huggingface.co", json={"inferenceProviderMapping": mapping})


def test_replicate_text_to_speech_polls_a_starting_prediction(
    hub: FixtureServer, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    recorded = load(hub, REPLICATE_TTS)
    _replicate_direct(hub, monkeypatch)
    audio_url = hub.host_url("replicate.delivery") + "/out/audio.wav"
    hub.add("GET", PREDICTION, host="api.replicate.com", json={"status": "processing", "output": None}, times=1)
    hub.add("GET", PREDICTION, host="api.replicate.com", json={"status": "succeeded", "output": audio_url})
    hub.add("GET", "/out/audio.wav", host="replicate.delivery", body=b"RIFF....WAVE")
    with Runner(kind, "hexgrad/Kokoro-82M", provider="replicate", token="r8_key") as run:
        audio = run("text_to_speech", "Hello world")
    assert audio == b"RIFF....WAVE"
    assert_sent_as_recorded(hub, recorded)
    sent = posts(hub)[0]
    assert sent.headers["prefer"] == "wait"
    assert sent.headers["authorization"] == "Bearer r8_key"
    polls = [r for r in hub.requests if r.path == PREDICTION]
    assert len(polls) == 2 and all(r.headers["authorization"] == "Bearer r8_key" for r in polls)


def test_replicate_cold_prediction_hits_the_deadline(
    hub: FixtureServer, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    load(hub, REPLICATE_TTS)
    _replicate_direct(hub, monkeypatch)
    hub.add("GET", PREDICTION, host="api.replicate.com", json={"status": "starting", "output": None})
    with Runner(kind, "hexgrad/Kokoro-82M", provider="replicate", token="r8_key", timeout=1.5) as run:
        with pytest.raises(InferenceTimeoutError, match="'starting'"):
            run("text_to_speech", "Hello world")
