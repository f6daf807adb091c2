"""Generate omniinfer's task types (src/omniinfer/types/<task>.py and types/__init__.py).

The field lists are facts about the Hugging Face inference task specification. They are read from
the type modules of an installed `huggingface_hub` (its `inference/_generated/types/*.py`), parsed
with `ast` (nothing of it is imported or copied): class names, field names and order, annotations
and which fields are required. Several references can be merged (e.g. 0.33.x and 2.x): a class
takes the field order of the last reference that declares it, plus the fields only older ones have.

    python scripts/gen_types.py                       # the huggingface_hub installed in this venv
    python scripts/gen_types.py --reference DIR ...   # site-packages dirs holding huggingface_hub
    python scripts/gen_types.py ... --check           # fail if the committed files differ

The committed files were made from 0.33.4 (the test extra's) and 2.4.0, each installed with
`pip install --no-deps --target DIR huggingface_hub==X`; `--check` compares with the same pair. The
output is committed; this script is only needed when the specification grows.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPES_DIR = ROOT / "src" / "omniinfer" / "types"

# Our own words for the types users meet most (task outputs); the others get a generic line.
DOCS: dict[str, str] = {
    "AudioClassificationOutputElement": "One predicted class of an audio clip: `label`, `score`.",
    "AudioToAudioOutputElement": "One output track: `label`, `content_type` (MIME type) and `blob` (the audio).",
    "AutomaticSpeechRecognitionOutput": "The transcript (`text`) and, when the server sends them, its `chunks`.",
    "AutomaticSpeechRecognitionOutputChunk": "A piece of the transcript and its `timestamp` ([start, end], seconds).",
    "ChatCompletionOutput": "The answer of a non-streamed chat completion.",
    "ChatCompletionStreamOutput": "One chunk of a streamed chat completion.",
    "ChatCompletionOutputMessage": "The assistant's message; `reasoning` also reads a server's `reasoning_content`.",
    "ChatCompletionStreamOutputDelta": "What a chunk adds to the message; `reasoning` also reads `reasoning_content`.",
    "ChatCompletionInputMessage": "One message of a conversation (a plain dict works as well wherever messages go).",
    "DocumentQuestionAnsweringOutputElement": "One answer read from a document image: `answer`, `score`, word span.",
    "FillMaskOutputElement": "One candidate for the mask: `token`, `token_str`, the completed `sequence`, `score`.",
    "ImageClassificationOutputElement": "One predicted class of an image: `label`, `score`.",
    "ImageSegmentationOutputElement": "One segment: `label`, `score` and `mask` (a `PIL.Image.Image`).",
    "ImageToTextOutput": "The caption (`generated_text`).",
    "ObjectDetectionBoundingBox": "A box in pixels: `xmin`, `ymin` (top left), `xmax`, `ymax` (bottom right).",
    "ObjectDetectionOutputElement": "One detected object: `label`, `score` and its `box`.",
    "QuestionAnsweringOutputElement": "An answer found in the context, its `score` and character offsets.",
    "SummarizationOutput": "The summary (`summary_text`).",
    "TableQuestionAnsweringOutputElement": "The `answer`, the `cells` and `coordinates` it comes from, `aggregator`.",
    "TextClassificationOutputElement": "One predicted class of a text: `label`, `score`.",
    "TextGenerationOutput": "The answer of `text_generation(..., details=True)`.",
    "TextGenerationStreamOutput": "One event of `text_generation(..., stream=True, details=True)`.",
    "TokenClassificationOutputElement": "One tagged span: entity, `score`, `word` and its offsets `start`, `end`.",
    "TranslationOutput": "The translation (`translation_text`).",
    "VisualQuestionAnsweringOutputElement": "One answer about an image and its `score`.",
    "ZeroShotClassificationOutputElement": "One candidate label of a text and its `score`.",
    "ZeroShotImageClassificationOutputElement": "One candidate label of an image and its `score`.",
}

# Keys some servers send for a declared field (read into the field when it is absent).
ALIASES: dict[str, dict[str, str]] = {
    "ChatCompletionOutputMessage": {"reasoning": "reasoning_content"},
    "ChatCompletionStreamOutputDelta": {"reasoning": "reasoning_content"},
}

_TYPING_NAMES = {"List": "list", "Dict": "dict", "Tuple": "tuple", "Type": "type"}


@dataclass
class Field:
    name: str
    annotation: str
    required: bool


@dataclass
class TypeClass:
    name: str
    module: str
    fields: list[Field] = field(default_factory=list)


class _Modernize(ast.NodeTransformer):
    """`Optional[X]` → `X | None`, `Union[A, B]` → `A | B`, `List` → `list`, quotes dropped."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str):  # a forward reference: our modules use postponed annotations
            return self.visit(ast.parse(node.value, mode="eval").body)
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.Name(_TYPING_NAMES.get(node.id, node.id), node.ctx)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        if isinstance(node.value, ast.Name) and node.value.id == "Literal":
            return node  # its strings are values, not forward references
        node = self.generic_visit(node)  # type: ignore[assignment]
        assert isinstance(node, ast.Subscript)
        head = node.value.id if isinstance(node.value, ast.Name) else None
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if head == "Optional":
            return _union([args[0], ast.Constant(None)])
        if head == "Union":
            return _union(list(args))
        return node


def _union(parts: list[ast.expr]) -> ast.expr:
    result = parts[0]
    for part in parts[1:]:
        result = ast.BinOp(result, ast.BitOr(), part)
    return result


def annotation_text(node: ast.expr) -> str:
    return ast.unparse(_Modernize().visit(node))


def reference_dirs(explicit: list[str]) -> list[Path]:
    if explicit:
        roots = [Path(p) / "huggingface_hub" for p in explicit]
    else:
        spec = importlib.util.find_spec("huggingface_hub")
        if spec is None or spec.origin is None:
            sys.exit("huggingface_hub is not installed: pip install huggingface_hub, or pass --reference")
        roots = [Path(spec.origin).parent]
    return [root / "inference" / "_generated" / "types" for root in roots]


def reference_version(types_dir: Path) -> str:
    init = (types_dir.parent.parent.parent / "__init__.py").read_text(encoding="utf-8")
    for line in init.splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    return "unknown"


def scan(types_dir: Path) -> tuple[dict[str, TypeClass], dict[str, tuple[str, str]]]:
    """Classes (with their fields) and the Literal aliases of one reference."""
    classes: dict[str, TypeClass] = {}
    aliases: dict[str, tuple[str, str]] = {}
    for path in sorted(types_dir.glob("*.py")):
        if path.name in ("__init__.py", "base.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                cls = TypeClass(node.name, path.stem)
                for statement in node.body:
                    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                        text = annotation_text(statement.annotation)
                        cls.fields.append(Field(statement.target.id, text, statement.value is None))
                classes[node.name] = cls
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                aliases[node.targets[0].id] = (path.stem, annotation_text(node.value))
    return classes, aliases


def merge(
    scans: list[tuple[dict[str, TypeClass], dict[str, tuple[str, str]]]],
) -> tuple[dict[str, TypeClass], dict[str, tuple[str, str]]]:
    classes: dict[str, TypeClass] = {}
    aliases: dict[str, tuple[str, str]] = {}
    for found, found_aliases in scans:
        for name, cls in found.items():
            older = classes.get(name)
            if older is not None:
                known = {f.name for f in cls.fields}
                # A field only an older reference has stays (optional): code written for it still runs.
                for f in older.fields:
                    if f.name not in known:
                        optional = f.annotation if f.annotation.endswith("| None") else f"{f.annotation} | None"
                        cls.fields.append(Field(f.name, optional, False))
            classes[name] = cls
        aliases.update(found_aliases)
    return classes, aliases


def render_module(module: str, classes: list[TypeClass], aliases: list[tuple[str, str]], versions: str) -> str:
    lines = [
        f'"""Types of the `{module.replace("_", "-")}` task (inputs, parameters and outputs).',
        "",
        "Generated by scripts/gen_types.py from the task specification's field lists",
        f"(huggingface_hub {versions}). Do not edit by hand.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
    ]
    body = " ".join([*(f.annotation for c in classes for f in c.fields), *(a for _, a in aliases)])
    used = set(re.findall(r"\b(Any|Literal)\b", body))
    if any(c.name in ALIASES for c in classes):
        used.add("ClassVar")
    typing_names = sorted(used)
    if typing_names:
        lines.append(f"from typing import {', '.join(typing_names)}")
        lines.append("")
    lines.append("from omniinfer.types._base import BaseInferenceType, inference_type")
    lines.append("")
    # Literal aliases first, union aliases (which name classes) last: each class can resolve its
    # annotations when it is defined, and compile its parser then.
    literals = [(n, v) for n, v in aliases if v.startswith("Literal[")]
    unions = [(n, v) for n, v in aliases if not v.startswith("Literal[")]
    for name, value in literals:
        lines += ["", f"{name} = {value}"]
    for cls in classes:
        lines += ["", "", "@inference_type", f"class {cls.name}(BaseInferenceType):"]
        doc = DOCS.get(cls.name)
        if doc is None:
            role = "output" if "Output" in cls.name else "input"
            doc = f"Part of the `{module.replace('_', '-')}` task's {role} (its fields are the specification's)."
        lines.append(f'    """{doc}"""')
        lines.append("")
        if cls.name in ALIASES:
            pairs = ", ".join(f"({k!r}, {v!r})" for k, v in ALIASES[cls.name].items())
            lines.append(f"    _aliases: ClassVar[tuple[tuple[str, str], ...]] = ({pairs},)")
        required = [f for f in cls.fields if f.required]
        optional = [f for f in cls.fields if not f.required]
        for f in required:
            lines.append(f"    {f.name}: {f.annotation}")
        for f in optional:
            lines.append(f"    {f.name}: {f.annotation} = None")
        if not cls.fields and cls.name not in ALIASES:
            lines.append("    pass")
    if unions:
        lines.append("")
    for name, value in unions:
        lines += ["", f"{name} = {value}"]
    exported = [name for name, _ in aliases] + [c.name for c in classes]
    lines += ["", "", "__all__ = ["] + [f'    "{n}",' for n in sorted(exported)] + ["]", ""]
    return "\n".join(lines)


def render_init(locations: dict[str, str], versions: str) -> str:
    modules = sorted(set(locations.values()))
    lines = [
        '"""Every task type: outputs, inputs and parameters, as dataclasses that are also dicts.',
        "",
        "    from omniinfer.types import ChatCompletionOutput, TextToImageParameters",
        "",
        "Names load on first use (one module per task), so importing this package costs almost nothing.",
        f"Generated by scripts/gen_types.py (huggingface_hub {versions}). Do not edit by hand.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import importlib",
        "from typing import TYPE_CHECKING, Any",
        "",
        "# Nothing is imported here: `from omniinfer import tasks` looks names up in this table.",
        "_LOCATIONS: dict[str, str] = {",
    ]
    locations = {**locations, "BaseInferenceType": "_base"}
    lines += [f'    "{name}": "{locations[name]}",' for name in sorted(locations)]
    lines += [
        "}",
        "",
        "",
        "def __getattr__(name: str) -> Any:",
        "    module = _LOCATIONS.get(name)",
        "    if module is None:",
        "        raise AttributeError(f\"module 'omniinfer.types' has no attribute {name!r}\")",
        '    value = getattr(importlib.import_module(f"omniinfer.types.{module}"), name)',
        "    globals()[name] = value",
        "    return value",
        "",
        "",
        "def __dir__() -> list[str]:",
        "    return sorted(set(globals()) | set(_LOCATIONS))",
        "",
        "",
        "__all__ = sorted(_LOCATIONS)",
        "",
        "if TYPE_CHECKING:",
        "    from omniinfer.types._base import BaseInferenceType as BaseInferenceType",
    ]
    lines += [f"    from omniinfer.types.{module} import *  # noqa: F403" for module in modules]
    lines.append("")
    return "\n".join(lines)


def generate(explicit: list[str]) -> dict[Path, str]:
    dirs = reference_dirs(explicit)
    versions = [reference_version(d) for d in dirs]
    order = sorted(range(len(dirs)), key=lambda i: [int(p) if p.isdigit() else 0 for p in versions[i].split(".")])
    classes, aliases = merge([scan(dirs[i]) for i in order])
    version_text = " and ".join(versions[i] for i in order)
    by_module: dict[str, list[TypeClass]] = {}
    for cls in classes.values():
        by_module.setdefault(cls.module, []).append(cls)
    alias_by_module: dict[str, list[tuple[str, str]]] = {}
    for name, (module, value) in sorted(aliases.items()):
        alias_by_module.setdefault(module, []).append((name, value))
    files: dict[Path, str] = {}
    locations: dict[str, str] = {}
    for module, members in sorted(by_module.items()):
        files[TYPES_DIR / f"{module}.py"] = render_module(
            module, members, alias_by_module.get(module, []), version_text
        )
        locations.update({c.name: module for c in members})
        locations.update({name: module for name, _ in alias_by_module.get(module, [])})
    files[TYPES_DIR / "__init__.py"] = render_init(locations, version_text)
    return files


def formatted(files: dict[Path, str]) -> dict[Path, str]:
    """The files as `ruff format` writes them (the committed form)."""
    out: dict[Path, str] = {}
    for path, text in files.items():
        if path.suffix != ".py":
            out[path] = text
            continue
        for command in (["check", "--select", "I", "--fix", "--quiet"], ["format"]):
            text = subprocess.run(
                [sys.executable, "-m", "ruff", *command, "--stdin-filename", str(path), "-"],
                input=text,
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            ).stdout
        out[path] = text
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", action="append", default=[], help="a site-packages dir with huggingface_hub")
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed files differ")
    args = parser.parse_args()
    files = formatted(generate(args.reference))
    stale = [path for path, text in files.items() if not path.exists() or path.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"out of date: {path.relative_to(ROOT)}", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(files[path], encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
