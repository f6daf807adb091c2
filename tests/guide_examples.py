"""The code examples of the Hugging Face client's inference guide, turned into omniinfer programs.

The guide is read at test time from the shared seed folder (a text rendering of the HTML page, so
markdown characters carry backslash escapes: ``\\>>>``, ``huggingface\\_hub``, ``\\[``...). Every code
block follows a "Copied" line; it ends at the first line of prose after a blank line. A block is

* ``doctest``: ``>>>`` statements, run one at a time as at an interactive prompt (expression values
  are displayed, i.e. captured; top-level ``await`` is allowed as in ``python -m asyncio``). The
  guide often omits the ``...`` prompt of continuation lines, so a line without a prompt continues
  the statement while its brackets are open, and is shown output otherwise;
* ``script``: a program (a ``-``/``+`` diff keeps its ``+`` side);
* ``shell``: command lines (``pip install``...), never run.

``huggingface_hub`` becomes ``omniinfer`` everywhere. Each example gets the id
``<section anchor>-<n>`` (n counts from 1 within the section), stable as long as the guide is.
"""

from __future__ import annotations

import codeop
import io
import os
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

SHARED = Path(os.environ.get("OMNIINFER_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))
GUIDE = SHARED / "seed" / "000_13230b68a468b596.txt"

# A block starts after this marker (the page's copy button) and a blank line.
_COPY_MARKER = "Copied"
# `Title` with `===`/`---` under it, or `### Title`: both rendered as `[](#anchor)Title`.
_HEADING = re.compile(r"^(?:#+ )?\[\]\(#(?P<anchor>[^)]+)\)(?P<title>.+)$")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>=|~])")
_SHELL_COMMANDS = ("pip ", "tiny-agents ", "$ ")


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str


@dataclass(frozen=True)
class Example:
    id: str
    section: Section
    kind: str  # "doctest" | "script" | "shell"
    text: str  # the block as the guide shows it (unescaped, with huggingface_hub → omniinfer)
    statements: tuple[str, ...]  # doctest: one per prompt; script: the whole program; shell: none
    outputs: tuple[str, ...] = ()  # what the guide shows a doctest printing (not compared)

    @property
    def source(self) -> str:
        return "\n".join(self.statements)


def unescape(line: str) -> str:
    r"""Undo the markdown escapes of the text rendering: ``\_`` → ``_``, ``\\n`` → ``\n``..."""
    return _ESCAPE.sub(r"\1", line)


def needs_more(source: str) -> bool:
    """True while `source` has an open bracket, string or line continuation."""
    try:
        for _ in tokenize.generate_tokens(io.StringIO(source + "\n").readline):
            pass
    except tokenize.TokenError:
        return True
    except (IndentationError, SyntaxError):
        return False
    return False


def is_prose(line: str) -> bool:
    """A line of the page's text rather than of a code block (used after a blank line)."""
    stripped = line.strip()
    if not stripped or line[0].isspace() or stripped.startswith((">>>", "...", "#", "- ", "+ ")):
        return False
    if stripped.startswith(_SHELL_COMMANDS):
        return False
    try:
        codeop.compile_command(stripped, symbol="exec")
    except (SyntaxError, ValueError, OverflowError):
        return True
    return False


def split_blocks(text: str) -> list[tuple[Section, list[str]]]:
    """Each code block of the page (unescaped lines) with the section it belongs to."""
    lines = text.splitlines()
    found: list[tuple[Section, list[str]]] = []
    section = Section("", "")
    i = 0
    while i < len(lines):
        heading = _heading(lines[i])
        if heading is not None:
            section = heading
        if lines[i].strip() != _COPY_MARKER:
            i += 1
            continue
        i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        block: list[str] = []
        while i < len(lines):
            line = lines[i]
            ends = line.strip() == _COPY_MARKER or _heading(line) is not None
            if ends or (block and not block[-1].strip() and is_prose(unescape(line))):
                break
            block.append(unescape(line))
            i += 1
        while block and not block[-1].strip():
            block.pop()
        found.append((section, block))
    return found


def sections(text: str) -> list[Section]:
    """Every section of the page, in order (titles unescaped)."""
    return [section for section in map(_heading, text.splitlines()) if section is not None]


def _heading(line: str) -> Section | None:
    match = _HEADING.match(line)
    return Section(match["anchor"], unescape(match["title"]).strip()) if match else None


def _kind(lines: list[str]) -> str:
    code = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if any(line.startswith(">>>") for line in code):
        return "doctest"
    if any(line.startswith(_SHELL_COMMANDS) for line in code):
        return "shell"
    return "script"


def doctest_statements(lines: Iterable[str]) -> tuple[list[str], list[str]]:
    """(statements, shown output) of a ``>>>`` block; comments go with the statement that follows."""
    statements: list[str] = []
    outputs: list[str] = []
    comments: list[str] = []
    current: list[str] | None = None

    def flush() -> None:
        nonlocal current
        if current is not None:
            statements.append("\n".join(current))
            current = None

    for line in lines:
        if line.startswith(">>>"):
            flush()
            current = [*comments, line[4:] if line.startswith(">>> ") else line[3:]]
            comments = []
        elif line.startswith("...") and current is not None:
            current.append(line[4:] if line.startswith("... ") else line[3:])
        elif current is not None and needs_more("\n".join(current)):
            current.append(line)
        elif line.lstrip().startswith("#"):
            flush()
            comments.append(line.strip())
        elif line.strip():
            flush()
            outputs.append(line)
    flush()
    return statements, outputs


def script_source(lines: Iterable[str]) -> str:
    """A program; of a diff, the new side (``+`` lines and context)."""
    kept = [line[2:] if line.startswith("+ ") else line for line in lines if not line.startswith("- ")]
    return "\n".join(kept).strip("\n") + "\n"


def to_example(section: Section, index: int, block: list[str]) -> Example:
    block = [line.replace("huggingface_hub", "omniinfer") for line in block]
    kind = _kind(block)
    statements: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    if kind == "doctest":
        found, shown = doctest_statements(block)
        statements, outputs = tuple(found), tuple(shown)
    elif kind == "script":
        statements = (script_source(block),)
    return Example(f"{section.anchor}-{index}", section, kind, "\n".join(block), statements, outputs)


def parse(text: str) -> list[Example]:
    counts: dict[str, int] = {}
    found = []
    for section, block in split_blocks(text):
        counts[section.anchor] = counts.get(section.anchor, 0) + 1
        found.append(to_example(section, counts[section.anchor], block))
    return found


def load(path: Path = GUIDE) -> list[Example]:
    return parse(path.read_text(encoding="utf-8"))


# ---- what is not run, and what is filled in ----------------------------------------------------

NOT_RUN: dict[str, str] = {
    "async-client-1": "shell: installs the package (`pip install --upgrade omniinfer[inference]`; omniinfer's "
    "async client needs no extra, so there is no `inference` extra)",
    "mcp-client-2": "shell: installs the package and runs `tiny-agents run julien-c/flux-schnell-generator`, "
    "an agent fetched from the Hub's tiny-agents dataset",
}

# Examples that continue the interactive session of an earlier one: what that session had defined.
PRELUDES: dict[str, str] = {
    "authentication-1": "from omniinfer import InferenceClient",
    "authentication-2": "from omniinfer import InferenceClient",
    "authentication-3": "from omniinfer import InferenceClient",
}

# `...` stands for "your arguments" in these examples: the values they are run with (old → new).
_PROMPT = '"An astronaut riding a horse on the moon."'
PLACEHOLDERS: dict[str, dict[str, str]] = {
    "using-a-specific-model-1": {
        "client.text_to_image(...)": f"client.text_to_image({_PROMPT})",
        "client.text_to_image(..., model=": f"client.text_to_image({_PROMPT}, model=",
    },
    "using-inference-endpoints-1": {"client.text_to_image(..., model=": f"client.text_to_image({_PROMPT}, model="},
    "openai-compatibility-1": {
        "base_url=...,": 'base_url="https://my-gateway.example/v1",',
        "api_key=...,": 'api_key="my_gateway_key",',
    },
    "timeout-1": {"client.text_to_image(...)": f"client.text_to_image({_PROMPT})"},
}


def program(example: Example) -> Example:
    """The example as it is run: its session's prelude, placeholders filled (each must be found)."""
    statements = list(example.statements)
    for old, new in PLACEHOLDERS.get(example.id, {}).items():
        hits = [i for i, statement in enumerate(statements) if old in statement]
        if not hits:
            raise LookupError(f"placeholder {old!r} not found in guide example {example.id}")
        for i in hits:
            statements[i] = statements[i].replace(old, new)
    if example.id in PRELUDES:
        statements.insert(0, PRELUDES[example.id])
    return replace(example, statements=tuple(statements))
