"""`omniinfer run TASK [INPUT] [--param k=v ...]`: any task of the client, its result as JSON.

INPUT is the task's main input: text, or for images/audio a file path or URL; without it, standard
input when piped. Other arguments go as `--param name=value` (the value read as JSON when it
parses, e.g. `--param top_k=3`, `--param 'candidate_labels=["a","b"]'`, else as a string).
Images, audio and video are written to `--output FILE` (its extension picks the image format).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from omniinfer.cli.chat import UsageError, add_target_arguments

if TYPE_CHECKING:  # the parser is built on every start: what the command needs is imported when it runs
    import inspect

    from omniinfer.cli.output import Reporter


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("run", help="run any task, print its result as JSON", description=__doc__)
    parser.add_argument("task", metavar="TASK", help="a task (e.g. text-to-image; see `omniinfer tasks`)")
    parser.add_argument("input", nargs="?", metavar="INPUT", help="the main input: text, a file path or a URL")
    add_target_arguments(parser)
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="another argument of the task"
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="where to write an image, audio or video")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, reporter: Reporter) -> int:
    import inspect
    import json
    from collections.abc import Iterator
    from pathlib import Path

    from omniinfer.cli.catalogue import method_name, task_id, tasks
    from omniinfer.cli.output import is_media, print_json, to_jsonable, write_media
    from omniinfer.cli.settings import resolve

    task = task_id(args.task)
    known = tasks()
    if task not in known:
        raise UsageError(f"unknown task {args.task!r}; tasks: {', '.join(known)}")
    from omniinfer.client import InferenceClient

    method = getattr(InferenceClient, method_name(task))
    signature = inspect.signature(method)
    parameters = list(signature.parameters.values())[1:]  # without self
    main = parameters[0]
    if _returns_media(signature) and args.output is None:
        raise UsageError(f"{task} returns a file: pass --output FILE")
    kwargs = _params(args.param, {p.name for p in parameters[1:]})
    value = _main_input(args.input, main)
    if task == "conversational" and isinstance(value, str):
        value = [{"role": "user", "content": value}]
    settings = resolve(args, task, reporter)
    with InferenceClient(**settings.client_kwargs()) as client, reporter.waiting(f"running {task}"):
        result = getattr(client, method.__name__)(value, **kwargs)
        if isinstance(result, Iterator):  # a stream: one JSON line per item
            for item in result:
                print(json.dumps(to_jsonable(item), ensure_ascii=False), flush=True)
            return 0
    if is_media(result):
        if args.output is None:
            raise UsageError(f"{task} returned a file: pass --output FILE")
        print_json(write_media(result, Path(args.output)))
    else:
        print_json(result)
    return 0


def _returns_media(signature: inspect.Signature) -> bool:
    annotation = str(signature.return_annotation)
    return annotation in ("Image", "bytes")


def _main_input(given: str | None, parameter: inspect.Parameter) -> Any:
    from inspect import Parameter

    from omniinfer.cli.settings import stdin_is_terminal

    empty = Parameter.empty
    if given is not None and given != "-":
        return given
    if given is None and stdin_is_terminal():
        if parameter.default is empty:
            raise UsageError(f"missing INPUT (the task's `{parameter.name}`), as an argument or on standard input")
        return parameter.default
    binary = "BinaryInput" in str(parameter.annotation) or "bytes" in str(parameter.annotation)
    data: Any = sys.stdin.buffer.read() if binary else sys.stdin.read()
    if not data and parameter.default is empty:
        raise UsageError(f"missing INPUT (the task's `{parameter.name}`): standard input was empty")
    return data


def _params(pairs: list[str], allowed: set[str]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    import json

    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise UsageError(f"--param {pair!r}: expected NAME=VALUE")
        if name not in allowed:
            raise UsageError(f"--param {name}: not an argument of this task; it takes {', '.join(sorted(allowed))}")
        try:
            kwargs[name] = json.loads(raw)
        except ValueError:
            kwargs[name] = raw
    return kwargs
