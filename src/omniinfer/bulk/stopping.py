"""When a job stops by itself: the same failure, row after row.

A row that fails is recorded and the job goes on. But when the requests of many rows in a row all
fail the same way (the server is down, the token is refused, the model or the URL does not exist,
the quota is spent), the rows still to come would fail too, each after its retries: the job stops
and says why. The rows answered so far stay in the output, and resuming sends the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SAME_FAILURES_TO_STOP = 25


class JobStopped(RuntimeError):
    """The job stopped early: its last rows all failed the same way. `error_type`, `status_code` and
    `error` are those of the last failed row; `rows` is how many failed so in a row."""

    def __init__(self, rows: int, error_type: str, status_code: int | None, error: str) -> None:
        status = f" (status {status_code})" if status_code is not None else ""
        super().__init__(
            f"stopped: the last {rows} rows sent all failed with {error_type}{status}: {error}. "
            "The rows still to come would fail the same way. The rows answered so far are kept: once "
            "the cause is fixed, resuming (--resume, resume=True) sends the others."
        )
        self.rows = rows
        self.error_type = error_type
        self.status_code = status_code
        self.error = error


class FailureStreak:
    """Counts the rows in a row whose requests failed the same way (type and status); `settled` raises
    JobStopped at `limit`. Rows refused before any request (bad input) say nothing of the server."""

    __slots__ = ("_count", "_kind", "limit")

    def __init__(self, limit: int = SAME_FAILURES_TO_STOP) -> None:
        self.limit = limit
        self._kind: tuple[Any, Any] | None = None
        self._count = 0

    def settled(self, record: Mapping[str, Any]) -> None:
        if record["error"] is None:
            self._kind, self._count = None, 0
            return
        if not record["attempts"]:
            return
        kind = (record["error_type"], record["status_code"])
        if kind == self._kind:
            self._count += 1
        else:
            self._kind, self._count = kind, 1
        if self._count >= self.limit:
            raise JobStopped(self._count, record["error_type"], record["status_code"], record["error"])
