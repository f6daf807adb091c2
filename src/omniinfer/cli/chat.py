"""`omniinfer chat [PROMPT]`: one streamed answer, or a conversation in the terminal.

The prompt is the argument, else standard input when it is piped; with neither (stdin a terminal)
the command is an interactive chat: `/reset` forgets the conversation, `/exit` or end of input
(Ctrl+D) leaves, Ctrl+C stops the current answer (twice in a row: leaves).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the parser is built on every start: what the commands need is imported when they run
    from pathlib import Path

    from omniinfer.cli.output import Reporter

PROMPT = "» "


class UsageError(Exception):
    """A mistake in the command line itself (exit code 2)."""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("chat", help="chat with a model (streams the answer)", description=__doc__)
    parser.add_argument("prompt", nargs="?", help="the question (default: stdin when piped, else interactive)")
    add_target_arguments(parser)
    parser.add_argument("--system", help="a system message")
    parser.add_argument("--max-tokens", type=int, help="the longest answer, in tokens")
    parser.add_argument("--temperature", type=float, help="sampling temperature (0: deterministic)")
    parser.add_argument("--json-schema", metavar="FILE", help="answer with JSON valid against this schema")
    parser.set_defaults(func=run)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", "-m", help="a Hub model id, a .gguf file, a local catalogue model or an endpoint URL"
    )
    parser.add_argument("--provider", "-p", help="the inference provider (see `omniinfer providers`)")
    parser.add_argument("--base-url", help="an OpenAI-compatible server's URL (instead of --model)")


def run(args: argparse.Namespace, reporter: Reporter) -> int:
    from pathlib import Path

    from omniinfer.cli.settings import resolve, stdin_is_terminal

    response_format = _response_format(Path(args.json_schema)) if args.json_schema else None
    prompt = args.prompt
    interactive = prompt is None and stdin_is_terminal()
    if prompt is None and not interactive:
        prompt = sys.stdin.read().strip()
        if not prompt:
            raise UsageError("no prompt: give one as an argument or on standard input")
    settings = resolve(args, "conversational", reporter)
    from omniinfer import InferenceClient

    options = {"max_tokens": args.max_tokens, "temperature": args.temperature, "response_format": response_format}
    with InferenceClient(**settings.client_kwargs()) as client:
        history: list[dict[str, Any]] = [{"role": "system", "content": args.system}] if args.system else []
        if not interactive:
            _answer(client, [*history, {"role": "user", "content": prompt}], options)
            return 0
        return _conversation(client, history, options)


def _response_format(path: Path) -> dict[str, Any]:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--json-schema: cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"--json-schema: {path} is not JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise UsageError(f"--json-schema: {path} must hold a JSON object (a JSON schema)")
    return {"type": "json_schema", "json_schema": {"name": path.stem or "answer", "schema": schema, "strict": True}}


def _answer(client: Any, messages: list[dict[str, Any]], options: dict[str, Any]) -> str:
    """Stream one answer to stdout; returns its text."""
    pieces: list[str] = []
    for chunk in client.chat_completion(messages, stream=True, **options):
        if not chunk.choices:
            continue
        text = chunk.choices[0].delta.content
        if text:
            pieces.append(text)
            sys.stdout.write(text)
            sys.stdout.flush()
    answer = "".join(pieces)
    if not answer.endswith("\n"):
        sys.stdout.write("\n")
    sys.stdout.flush()
    return answer


def _conversation(client: Any, history: list[dict[str, Any]], options: dict[str, Any]) -> int:
    from omniinfer.cli.output import PROG
    from omniinfer.errors import InferenceError

    print(f"{PROG} chat: /reset forgets the conversation, /exit (or Ctrl+D) leaves.", file=sys.stderr)
    system = list(history)
    interrupted = False
    while True:
        try:
            line = input(PROMPT)
        except EOFError:
            print(file=sys.stderr)
            return 0
        except KeyboardInterrupt:
            print(file=sys.stderr)
            if interrupted:
                return 130
            interrupted = True
            continue
        interrupted = False
        text = line.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            return 0
        if text == "/reset":
            history = list(system)
            continue
        history.append({"role": "user", "content": text})
        try:
            answer = _answer(client, history, options)
        except KeyboardInterrupt:
            print("\n[stopped]", file=sys.stderr)
            history.pop()
            continue
        except InferenceError as exc:  # say so and keep the conversation going
            print(f"{PROG}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
            history.pop()
            continue
        history.append({"role": "assistant", "content": answer})
