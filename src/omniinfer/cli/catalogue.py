"""The tasks the command line knows, read from the provider registry: task id <-> client method."""

from __future__ import annotations

from typing import Any

# The registry says "conversational" where the client method is chat_completion.
_METHOD_OF = {"conversational": "chat_completion"}


def method_name(task: str) -> str:
    return _METHOD_OF.get(task, task.replace("-", "_"))


def task_id(name: str) -> str:
    """A task given as `text-to-image`, `text_to_image` or `chat_completion` -> its registry id."""
    for task, method in _METHOD_OF.items():
        if name in (task, method):
            return task
    return name.replace("_", "-")


# Client methods that are not tasks.
_UTILITIES = frozenset({"close", "get_endpoint_info", "health_check"})


def task_methods() -> list[str]:
    """Every task method of the client (29), whether or not a provider serves it today."""
    from omniinfer.client import InferenceClient

    return sorted(
        name
        for name, value in vars(InferenceClient).items()
        if callable(value) and not name.startswith("_") and name not in _UTILITIES
    )


def tasks() -> dict[str, list[str]]:
    """Every task the client has a method for -> the providers that serve it (possibly none: a
    dedicated endpoint or a local server may still run it)."""
    from omniinfer.providers import REGISTRY

    served: dict[str, list[str]] = {task_id(method): [] for method in task_methods()}
    for provider in REGISTRY.values():
        for task in provider.tasks:
            if task in served:
                served[task].append(provider.id)
    return {task: sorted(providers) for task, providers in sorted(served.items())}


def table(rows: list[list[str]], header: list[str]) -> str:
    """Rows as aligned columns under a header."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    # The last column is not padded, so its rule is only as long as its header.
    lines.insert(1, "  ".join("-" * width for width in [*widths[:-1], len(header[-1])]))
    return "\n".join(lines)


def providers_table() -> str:
    from omniinfer.providers import REGISTRY

    rows: list[list[str]] = []
    for provider in sorted(REGISTRY.values(), key=lambda p: p.id):
        host = provider.direct_url or "(router only)"
        access = "no token" if not provider.token_required else ("router or key" if provider.router_allowed else "key")
        rows.append([provider.id, host, access, ", ".join(sorted(provider.tasks))])
    return table(rows, ["PROVIDER", "HOST", "ACCESS", "TASKS"])


def tasks_table() -> str:
    rows: list[list[Any]] = [
        [task, method_name(task), ", ".join(providers) or "(none: endpoints and local servers only)"]
        for task, providers in tasks().items()
    ]
    return table(rows, ["TASK", "METHOD", "PROVIDERS"])
