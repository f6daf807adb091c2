"""Tables in: question answering over a table, classification and regression of its rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from omniinfer._core.context import ClientContext
from omniinfer.tasks._common import check_text
from omniinfer.tasks._runner import Flow, TaskCall, run_task
from omniinfer.tasks._shapes import labels, numbers, one
from omniinfer.types import TableQuestionAnsweringOutputElement


def check_table(table: Any) -> dict[str, Any]:
    """A table is a dict of column name -> list of cell values, all columns the same length."""
    if not isinstance(table, dict) or not table:
        raise ValueError("`table` must be a non-empty dict of column name -> list of values")
    lengths = set()
    for name, column in table.items():
        if not isinstance(name, str) or not isinstance(column, (list, tuple)):
            raise ValueError(f"`table` column {name!r} must be a list of values keyed by its name (str)")
        lengths.add(len(column))
    if len(lengths) > 1:
        raise ValueError(f"`table` columns must all have the same length, got lengths {sorted(lengths)}")
    return {name: list(column) for name, column in table.items()}


def table_question_answering(
    ctx: ClientContext,
    table: dict[str, Any],
    query: str,
    *,
    model: str | None = None,
    padding: Literal["do_not_pad", "longest", "max_length"] | None = None,
    sequential: bool | None = None,
    truncation: bool | None = None,
) -> Flow:
    checked = check_table(table)
    check_text(query, "query")
    parameters = {"padding": padding, "sequential": sequential, "truncation": truncation}
    call = TaskCall(
        "table-question-answering",
        {"query": query, "table": checked},
        parameters,
        parse=one(TableQuestionAnsweringOutputElement),
    )
    return (yield from run_task(ctx, call, model))


def _rows_body(table: Any, parameters: dict[str, Any]) -> dict[str, Any]:
    # The Hugging Face tabular pipelines read the table from a top-level "table" key.
    return {"inputs": None, "parameters": parameters, "table": table}


def _tabular(ctx: ClientContext, task: str, table: Any, model: str | None, parse: Callable[[Any], Any]) -> Flow:
    call = TaskCall(task, check_table(table), parse=parse, hf_body=_rows_body, argument="table")
    return (yield from run_task(ctx, call, model))


def tabular_classification(ctx: ClientContext, table: dict[str, Any], *, model: str | None = None) -> Flow:
    return (yield from _tabular(ctx, "tabular-classification", table, model, labels))


def tabular_regression(ctx: ClientContext, table: dict[str, Any], *, model: str | None = None) -> Flow:
    return (yield from _tabular(ctx, "tabular-regression", table, model, numbers))
