"""`omniinfer`: inference from the command line.

    omniinfer chat [PROMPT]             one streamed answer, or a chat in the terminal
    omniinfer run TASK [INPUT] ...      any task; JSON on stdout, files with --output
    omniinfer bulk TASK --input IN ...  a task over every row of a dataset (resumable)
    omniinfer providers | tasks         what is supported
    omniinfer agent run [PATH]          a tiny agent (a chat model with MCP tools)

With no provider, model or token configured, chat runs a small model in-process, offline (the
`local` provider; `pip install 'omniinfer[local]'`). Exit codes: 0 success, 1 the inference
failed (the error's message on stderr), 2 a usage error.

Startup stays fast: only the standard library is imported until a command runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    from omniinfer.cli import bulk, chat, run

    parser = argparse.ArgumentParser(
        prog="omniinfer", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress or notices on stderr")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    chat.add_parser(commands)
    run.add_parser(commands)
    bulk.add_parser(commands)
    commands.add_parser("providers", help="the supported providers and their tasks").set_defaults(func=_providers)
    commands.add_parser("tasks", help="the supported tasks and their providers").set_defaults(func=_tasks)
    commands.add_parser("agent", help="a tiny agent: `omniinfer agent run [PATH]` (see `omniinfer agent --help`)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `omniinfer` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["agent"]:
        return _agent(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error argparse already reported
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if args.version:
        from omniinfer._version import __version__

        print(f"omniinfer {__version__}")
        return EXIT_OK
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    from omniinfer.cli.output import Reporter
    from omniinfer.cli.settings import quiet_environment

    quiet_environment(args.quiet)
    return _guarded(parser, args, Reporter(args.quiet))


def _guarded(parser: argparse.ArgumentParser, args: argparse.Namespace, reporter: Any) -> int:
    """Run the command; map what it raises to a message on stderr and an exit code."""
    from omniinfer.cli.chat import UsageError
    from omniinfer.errors import InferenceError

    try:
        return int(args.func(args, reporter))
    except UsageError as exc:
        parser.exit(EXIT_USAGE, f"{parser.prog} {args.command}: error: {exc}\n")
    except InferenceError as exc:  # before ValueError: BadRequestError is both
        _fail(f"{type(exc).__name__}: {exc}")
        return EXIT_FAILURE
    except (ValueError, TypeError, FileNotFoundError) as exc:  # the client refused the arguments
        _fail(str(exc))
        return EXIT_USAGE
    except ImportError as exc:  # an optional dependency is missing: the message says what to install
        _fail(str(exc))
        return EXIT_FAILURE
    except KeyboardInterrupt as exc:
        print(file=sys.stderr)  # ends the line the terminal's ^C is on
        if str(exc):  # what the command says the interrupt left behind
            print(exc, file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): not an error of ours
        _silence_stdout()
        return EXIT_OK
    return EXIT_FAILURE  # not reached: parser.exit raises


def _fail(message: str) -> None:
    print(f"omniinfer: error: {message}", file=sys.stderr)


def _silence_stdout() -> None:
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _providers(args: argparse.Namespace, reporter: Any) -> int:
    from omniinfer.cli.catalogue import providers_table

    print(providers_table())
    return EXIT_OK


def _tasks(args: argparse.Namespace, reporter: Any) -> int:
    from omniinfer.cli.catalogue import tasks_table

    print(tasks_table())
    return EXIT_OK


def _agent(argv: list[str]) -> int:
    try:
        from omniinfer.cli import tiny_agents
    except ImportError:
        _fail("the agent command is not available in this installation")
        return EXIT_USAGE
    return int(tiny_agents.main(argv))


if __name__ == "__main__":
    sys.exit(main())
