"""`omniinfer bulk TASK --input IN --output OUT ...`: a task over every row of a dataset.

IN is .jsonl, .csv or .parquet; OUT is .jsonl or .parquet, one row per input row (its id, `result`,
for chat `text`, and the outcome: error, error_type, status_code, provider, model, request_id,
attempts, latency_s, input_tokens, output_tokens). Output is written as rows complete; `--resume`
sends only the rows without a stored answer. Exit status: 0 every row answered, 1 some rows failed,
2 a usage error (found before any request). See docs/bulk.md.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from omniinfer.cli.chat import UsageError

if TYPE_CHECKING:
    from omniinfer.cli.output import Reporter


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "bulk",
        help="run a task over every row of a JSONL/CSV/Parquet file, resumable",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("task", metavar="TASK", help="a task (e.g. chat, text-classification; see `omniinfer tasks`)")
    parser.add_argument(
        "--input",
        required=True,
        metavar="IN",
        help="the rows: a .jsonl, .csv or .parquet file (.jsonl and .csv may end in .gz, .bz2, .xz or .zst)",
    )
    parser.add_argument("--output", required=True, metavar="OUT", help="the answers: a .jsonl or .parquet file")
    parser.add_argument("--model", "-m", help="a Hub model id or an endpoint URL")
    parser.add_argument("--provider", "-p", help="the inference provider (see `omniinfer providers`)")
    parser.add_argument("--base-url", help="an OpenAI-compatible server's URL")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="an argument of the task, for every row"
    )
    parser.add_argument("--column", metavar="NAME", help="the column holding the task's main input")
    parser.add_argument("--id-column", metavar="NAME", help="the column identifying rows (default: the row's index)")
    parser.add_argument(
        "--concurrency", default="auto", metavar="N|auto", help="requests in flight (default auto: adaptive)"
    )
    parser.add_argument("--rpm", type=float, metavar="N", help="at most N requests per minute")
    parser.add_argument("--tpm", type=float, metavar="N", help="at most N tokens per minute")
    parser.add_argument("--max-retries", type=int, default=5, metavar="N", help="retries per row (default 5)")
    parser.add_argument(
        "--timeout", type=float, metavar="S", help="seconds a request may take (default 600; 0: no limit)"
    )
    parser.add_argument("--resume", action="store_true", help="continue OUT: send only rows without an answer")
    parser.add_argument(
        "--ray", nargs="?", const="", default=None, metavar="ADDRESS", help="run on Ray (a local cluster, or ADDRESS)"
    )
    parser.add_argument("--workers", type=int, metavar="N", help="Ray actors (with --ray; default 2)")
    # The top-level --quiet is also accepted here; SUPPRESS keeps `omniinfer -q bulk ...` working.
    parser.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS, help="no progress on stderr")
    parser.set_defaults(func=run)


def options_from(args: argparse.Namespace) -> dict[str, Any]:
    from omniinfer.bulk import BulkUsageError
    from omniinfer.cli.run import _params

    try:
        params = _params(args.param, _accepted(args.task))
    except BulkUsageError as exc:
        raise UsageError(str(exc)) from None
    return {
        "model": args.model,
        "provider": args.provider,
        "base_url": args.base_url,
        "params": params,
        "column": args.column,
        "id_column": args.id_column,
        "concurrency": args.concurrency,
        "rpm": args.rpm,
        "tpm": args.tpm,
        "max_retries": args.max_retries,
        "timeout": args.timeout,
        "resume": args.resume,
        "quiet": bool(getattr(args, "quiet", False)),
    }


def _accepted(task: str) -> set[str]:
    import inspect

    from omniinfer.async_client import AsyncInferenceClient
    from omniinfer.bulk.tasks import method_name, task_id

    method = getattr(AsyncInferenceClient, method_name(task_id(task)))
    return {p.name for p in list(inspect.signature(method).parameters.values())[2:] if p.kind is not p.VAR_KEYWORD}


def run(args: argparse.Namespace, reporter: Reporter) -> int:
    from omniinfer.bulk import BulkUsageError
    from omniinfer.bulk.stopping import JobStopped

    if args.workers is not None and args.ray is None:
        raise UsageError("--workers needs --ray")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers: expected a number >= 1, got {args.workers}")
    try:
        options = options_from(args)
        if args.ray is not None:
            from omniinfer.bulk.ray import run_on_ray

            summary = run_on_ray(
                args.task,
                args.input,
                output=args.output,
                address=args.ray or None,
                workers=args.workers or 2,
                **options,
            )
        else:
            import omniinfer.bulk

            summary = omniinfer.bulk.run(args.task, args.input, output=args.output, **options)
    except BulkUsageError as exc:
        raise UsageError(str(exc)) from None
    except JobStopped as exc:
        return _stopped(str(exc), args.output)
    except KeyboardInterrupt:
        if getattr(args, "quiet", False):
            raise
        raise KeyboardInterrupt(f"omniinfer bulk: {_interrupted(args.output)}") from None
    except OSError as exc:  # the job's own I/O (requests fail row by row): a full disk, a vanished input
        return _stopped(f"stopped: {exc}. Once the cause is fixed, --resume sends the others.", args.output)
    if not options["quiet"]:
        print(f"omniinfer bulk: {summary}", file=sys.stderr, flush=True)
    return int(summary.exit_code)


def _stopped(reason: str, output: str) -> int:
    """Say why the job stopped early and where its answers are: exit status 1."""
    from omniinfer.bulk.writers import answers_so_far

    print(f"omniinfer bulk: {reason} The rows answered so far are in {answers_so_far(output)}.", file=sys.stderr)
    return 1


def _interrupted(output: str) -> str:
    """What Ctrl+C leaves, and how to go on."""
    from omniinfer.bulk.writers import answers_so_far

    return (
        f"interrupted; the rows answered so far are in {answers_so_far(output)}. "
        "Run the same command (with --resume) to send only the others."
    )
