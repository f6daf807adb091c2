"""`tiny-agents run [PATH]` (also `omniinfer agent run [PATH]`): chat with an Agent in the terminal.

PATH is a folder with `agent.json` (and optionally `PROMPT.md` or `AGENTS.md`), a single JSON file,
or the id of an agent of the Hub dataset `tiny-agents/tiny-agents` (e.g. `julien-c/flux-schnell-generator`:
downloaded into the Hugging Face cache, which later runs fall back to offline); without it the
reference client's default agent is used. Values for the config's `inputs` are asked
for first (an empty answer falls back to the environment variable named after the input).

Keys: Ctrl+C once aborts the current turn, twice exits (code 130); end of input (Ctrl+D, or the end
of piped stdin) exits with code 0. A bad config is one line on stderr and exit code 2; an MCP server
that cannot be started, or a Hub agent that cannot be had (unknown, or the Hub out of reach with
nothing cached), exit code 1.

Startup cost matters here (this module is imported by the `omniinfer` CLI): only the standard
library is imported at module level; the agent, the config loader and the MCP SDK come when used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from omniinfer.mcp.agent import Agent
    from omniinfer.mcp.config import AgentConfig

PROG = "tiny-agents"
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
PROMPT = "» "


# ---------------------------------------------------------------------------------------------
# argparse wiring


def add_run_arguments(parser: argparse.ArgumentParser, prog: str = PROG) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        default=None,
        metavar="PATH",
        help="a folder with agent.json (+ PROMPT.md or AGENTS.md), a JSON file, or the id of an agent of the "
        "Hub dataset tiny-agents/tiny-agents, e.g. julien-c/flux-schnell-generator (default: built-in agent)",
    )
    parser.set_defaults(func=run_command, agent_prog=prog)


def add_agent_subcommand(subparsers: Any) -> argparse.ArgumentParser:
    """Add `agent run [PATH]` to another CLI's subparsers (the `omniinfer` command uses this).

    The parsed namespace has `func`; `args.func(args)` runs the command and returns the exit code.
    """
    agent = subparsers.add_parser(
        "agent", help="run a tiny agent: a chat model with MCP tools", description=__doc__.split("\n")[0]
    )
    commands = agent.add_subparsers(dest="agent_command", metavar="COMMAND")
    commands.required = True
    add_run_arguments(commands.add_parser("run", help="chat with an agent in the terminal"), prog="omniinfer agent")
    return agent  # type: ignore[no-any-return]


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Lightweight agents: a chat model plus the tools of MCP servers."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    add_run_arguments(commands.add_parser("run", help="chat with an agent in the terminal"), prog=prog)
    return parser


def main(argv: list[str] | None = None, *, prog: str = PROG) -> int:
    """Entry point of the `tiny-agents` console script; returns the exit code.

    `prog` names the command in usage and error messages (`omniinfer agent` when mounted there).
    """
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help and usage errors; callers want a code
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    return int(args.func(args))


def run_command(args: argparse.Namespace) -> int:
    """Load the config named by `args.path` and run the interactive loop."""
    from omniinfer.mcp.config import ConfigError, load_agent_config

    prog = getattr(args, "agent_prog", None) or PROG
    location = args.path
    if location is not None and not os.path.exists(os.path.expanduser(location)):
        from omniinfer.mcp.hub import HubAgentError, fetch_agent, is_agent_id

        if is_agent_id(location):  # not a local path: an agent of the Hub dataset
            try:
                fetched = fetch_agent(location)
            except HubAgentError as err:
                print(f"{prog}: error: {err}", file=sys.stderr)
                return EXIT_FAILURE
            if fetched.warning:
                print(f"{prog}: warning: {fetched.warning}", file=sys.stderr)
            location = fetched.path
    try:
        config = load_agent_config(location)
    except ConfigError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    for warning in config.warnings:
        print(f"{prog}: warning: {warning}", file=sys.stderr)

    terminal = Terminal(sys.stdout, sys.stderr)
    try:
        code = asyncio.run(run_agent(config, terminal, prog))
    except KeyboardInterrupt:  # a platform without loop signal handlers
        code = EXIT_INTERRUPTED
    if terminal.reader_still_blocked():
        # A thread is still blocked reading stdin (we exit from a prompt on Ctrl+C). Interpreter
        # shutdown could wait for, or crash on, its lock on stdin: leave without it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


# ---------------------------------------------------------------------------------------------
# Terminal: prompts read from stdin without blocking the event loop, and Ctrl+C bookkeeping


class ExitRequested(Exception):
    """Ctrl+C was pressed a second time: leave the program."""


class Terminal:
    """Reads lines in a daemon thread (so Ctrl+C and the agent keep working) and prints the run."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        self.color = out.isatty() and not os.environ.get("NO_COLOR")
        self.abort_event = asyncio.Event()
        self.exit_event = asyncio.Event()
        self._interrupted_once = False
        self._reader: threading.Thread | None = None
        # A task to cancel on Ctrl+C instead of the abort/exit protocol (while servers start).
        self.cancel_on_interrupt: asyncio.Task[Any] | None = None

    # Ctrl+C ----------------------------------------------------------------------------------
    def on_sigint(self) -> None:
        if self.cancel_on_interrupt is not None:
            self.print_error("\nInterrupted.")
            self.cancel_on_interrupt.cancel()
            return
        if not self._interrupted_once:
            self._interrupted_once = True
            self.abort_event.set()
            self.print_error("\nInterrupted. Press Ctrl+C again to quit.")
            return
        self.print_error("\nExiting...")
        self.exit_event.set()

    def new_turn(self) -> None:
        self._interrupted_once = False
        self.abort_event.clear()

    # input ------------------------------------------------------------------------------------
    async def read_line(self, prompt: str, *, secret: bool = False) -> str | None:
        """One line from stdin (None at end of input); raises ExitRequested on a second Ctrl+C."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str | None] = loop.create_future()

        def deliver(value: str | None, error: BaseException | None) -> None:
            if answer.done():
                return
            if error is not None:
                answer.set_exception(error)
            else:
                answer.set_result(value)

        def read() -> None:
            value: str | None = None
            error: BaseException | None = None
            try:
                # getpass reads from the terminal without echo; with piped stdin there is nothing
                # to hide and getpass would read /dev/tty instead of the pipe.
                value = getpass.getpass(prompt) if secret and sys.stdin.isatty() else self._input(prompt)
            except EOFError:
                value = None
            except BaseException as exc:
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(deliver, value, error)

        self._reader = threading.Thread(target=read, name="tiny-agents-stdin", daemon=True)
        self._reader.start()
        exit_wait = asyncio.ensure_future(self.exit_event.wait())
        waiting: set[asyncio.Future[Any]] = {answer, exit_wait}
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            exit_wait.cancel()
        if not answer.done():
            raise ExitRequested
        return answer.result()

    def _input(self, prompt: str) -> str:
        if sys.stdin.isatty():
            return input(prompt)  # line editing when readline is loaded
        self.write(prompt)
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        # Piped input is not echoed: end the prompt's line so that what follows starts on its own.
        self.write("\n")
        return line.rstrip("\n")

    def reader_still_blocked(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    # output -----------------------------------------------------------------------------------
    def write(self, text: str, style: str | None = None) -> None:
        if style and self.color:
            text = f"{style}{text}\033[0m"
        self.out.write(text)
        self.out.flush()

    def print_error(self, text: str) -> None:
        if self.err.isatty() and not os.environ.get("NO_COLOR"):
            text = f"\033[31m{text}\033[0m"
        print(text, file=self.err, flush=True)


BLUE = "\033[34m"
BOLD_BLUE = "\033[1;34m"
GREEN = "\033[32m"
YELLOW = "\033[33m"


# ---------------------------------------------------------------------------------------------
# The session


async def run_agent(config: AgentConfig, terminal: Terminal, prog: str = PROG) -> int:
    """Ask for inputs, start the agent, then chat until end of input or a second Ctrl+C."""
    loop = asyncio.get_running_loop()
    handler_installed = False
    with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows, or not the main thread
        loop.add_signal_handler(signal.SIGINT, terminal.on_sigint)
        handler_installed = True
    try:
        try:
            config = await _ask_inputs(config, terminal)
        except ExitRequested:
            return EXIT_INTERRUPTED
        return await _chat(config, terminal, prog)
    finally:
        if handler_installed:
            loop.remove_signal_handler(signal.SIGINT)


async def _ask_inputs(config: AgentConfig, terminal: Terminal) -> AgentConfig:
    if not config.inputs:
        return config
    used = config.used_inputs()
    terminal.write(
        "Some initial inputs are required by the agent. Please provide a value or leave empty to load from env.\n",
        BOLD_BLUE,
    )
    values: dict[str, str] = {}
    for spec in config.inputs:
        if not used.get(spec.id):
            terminal.write(f"Input {spec.id} defined in config but not used by any server.\n", YELLOW)
            continue
        description = f": {spec.description}" if spec.description else ""
        terminal.write(f" • {spec.id}", BLUE)
        answer = await terminal.read_line(f"{description} (default: load from {spec.env_var}). ", secret=spec.password)
        value = (answer or "").strip()
        if not value:
            value = os.environ.get(spec.env_var, "")
            if value:
                terminal.write(f"Value successfully loaded from '{spec.env_var}'\n", GREEN)
            else:
                terminal.write(f"No value found for '{spec.env_var}' in environment variables. Continuing.\n", YELLOW)
        values[spec.id] = value
    terminal.write("\n")
    return config.with_inputs(values)


async def _chat(config: AgentConfig, terminal: Terminal, prog: str) -> int:
    from omniinfer.mcp.agent import Agent
    from omniinfer.mcp.client import MCPServerConnectionError

    try:
        agent = Agent(
            model=config.model,
            provider=config.provider,
            base_url=config.endpoint_url,
            api_key=config.api_key,
            servers=config.servers,
            prompt=config.prompt,
        )
    except (ValueError, TypeError) as err:  # a value the inference client refuses
        terminal.print_error(f"{prog}: error: {config.source}: {_one_line(err)}")
        return EXIT_USAGE
    async with agent:
        # Servers are started in this task: the SDK's task groups must be exited (at cleanup) by the
        # task that entered them. Ctrl+C while they start cancels this task instead of a turn.
        terminal.cancel_on_interrupt = asyncio.current_task()
        try:
            await agent.load_tools()
        except asyncio.CancelledError:
            _uncancel()
            return EXIT_INTERRUPTED
        except MCPServerConnectionError as err:
            terminal.print_error(f"{prog}: error: {err}")
            return EXIT_FAILURE
        finally:
            terminal.cancel_on_interrupt = None
        terminal.write(f"Agent loaded with {len(agent.available_tools)} tools:\n", BOLD_BLUE)
        for tool in agent.available_tools:
            terminal.write(f" • {tool.function.name}\n", BLUE)

        while True:
            # No reset here: a Ctrl+C that aborted the turn still counts, so one more at the prompt
            # exits (the reference's behaviour). Typing a line starts afresh.
            try:
                line = await terminal.read_line(PROMPT)
            except ExitRequested:
                return EXIT_INTERRUPTED
            if line is None:
                terminal.write("\n")
                return EXIT_OK
            if not line.strip():
                continue
            terminal.new_turn()
            if not await _run_turn(agent, line, terminal):
                return EXIT_INTERRUPTED


async def _run_turn(agent: Agent, user_input: str, terminal: Terminal) -> bool:
    """Run one user turn; False when the user asked to exit during it."""
    turn = asyncio.ensure_future(_stream_run(agent, user_input, terminal))
    abort_wait = asyncio.ensure_future(terminal.abort_event.wait())
    try:
        await asyncio.wait({turn, abort_wait}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        abort_wait.cancel()
    if not turn.done():
        turn.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await turn
        # The first Ctrl+C aborted the turn; wait for nothing more unless a second one came.
        terminal.write("\n")
        return not terminal.exit_event.is_set()
    error = turn.exception()
    if error is not None:
        terminal.print_error(f"\nError during agent run: {_one_line(error)}")
    return True


async def _stream_run(agent: Agent, user_input: str, terminal: Terminal) -> None:
    async for item in agent.run(user_input, abort_event=terminal.abort_event):
        choices = getattr(item, "choices", None)
        if choices is not None:
            if not choices:
                continue
            delta = choices[0].delta
            if delta.content:
                terminal.write(delta.content)
            for call in delta.tool_calls or ():
                function = call.function or {}
                if call.id:
                    terminal.write(f"<Tool {call.id}>", BLUE)
                if function.get("name"):
                    terminal.write(f"{function['name']} ", BLUE)
                if function.get("arguments"):
                    terminal.write(str(function["arguments"]), BLUE)
        else:
            terminal.write(f"\n\nTool[{item.name}] {item.tool_call_id}\n{item.content}\n\n", GREEN)
    terminal.write("\n")


def _uncancel() -> None:
    """Forget a cancellation we handled, so later timeouts in this task still work (3.11+)."""
    task = asyncio.current_task()
    if task is not None and hasattr(task, "uncancel"):
        task.uncancel()


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if type(error).__name__ in text else f"{type(error).__name__}: {text}"


if __name__ == "__main__":
    sys.exit(main())
