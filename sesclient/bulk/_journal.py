"""The journal of a bulk run: one SQLite row per recipient, so that a killed run can resume.

A recipient is ``pending`` until its first request, which is recorded
``in_flight``, then ``sent`` / ``failed`` / ``unknown``; ``pending`` again
when the request came back unsent (throttled, 5xx) and waits for another;
``not_sent`` when the run stopped before sending it (daily quota,
account-wide failure).  A pending recipient that never went out has no row
at all: writing one per recipient read would double the journal's cost and
tell a resumed run nothing it does not know (no row, nothing sent).

``in_flight`` is committed *before* the request leaves, so after a crash the
only recipients whose fate is unknown are those whose request was on the
wire; a resumed run reports them as unknown instead of sending them twice.
Outcomes are buffered and written with the next ``in_flight`` commit: a
crash can lose a few outcomes, which the resumed run then reports as unknown,
but never an ``in_flight`` mark.

WAL mode with ``synchronous=NORMAL`` makes each commit a write to the
operating system's cache: that survives the process being killed.  Pass
``synchronous="FULL"`` to survive a power loss too, at the price of an fsync
per commit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from os import PathLike, fspath
from typing import Any, NamedTuple

__all__ = [
    "FAILED",
    "IN_FLIGHT",
    "NOT_SENT",
    "PENDING",
    "SENT",
    "UNKNOWN",
    "Journal",
    "JournalEntry",
    "JournalMismatch",
]

PENDING = "pending"
IN_FLIGHT = "in_flight"
SENT = "sent"
FAILED = "failed"
UNKNOWN = "unknown"
NOT_SENT = "not_sent"

_SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS recipients (
    key TEXT PRIMARY KEY,
    position INTEGER,
    address TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    message_id TEXT,
    code TEXT,
    message TEXT,
    retryable INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL
) WITHOUT ROWID;
"""
_UPSERT_OUTCOME = (
    "INSERT INTO recipients (key, position, address, state, attempts, message_id, code, "
    "message, retryable, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, "
    "attempts = excluded.attempts, message_id = excluded.message_id, "
    "code = excluded.code, message = excluded.message, "
    "retryable = excluded.retryable, updated = excluded.updated"
)
_UPSERT_IN_FLIGHT = (
    "INSERT INTO recipients (key, position, address, state, attempts, updated) "
    "VALUES (?, ?, ?, 'in_flight', ?, ?) ON CONFLICT (key) DO UPDATE SET "
    "state = excluded.state, attempts = excluded.attempts, updated = excluded.updated"
)


class JournalMismatch(ValueError):
    """The journal belongs to another run (other sender, template or content), or exists
    and ``resume`` was not asked for."""


class JournalEntry(NamedTuple):
    """What the journal knows about one recipient."""

    state: str
    attempts: int
    message_id: str | None
    code: str | None
    message: str | None
    retryable: bool


class Journal:
    """One bulk run's SQLite journal.  Used from one thread (the run's event loop)."""

    def __init__(self, path: str | PathLike[str], *, synchronous: str = "NORMAL") -> None:
        if synchronous.upper() not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', not {synchronous!r}")
        self.path = fspath(path)
        self._synchronous = synchronous.upper()
        self._db: Any = None
        # Outcomes not yet written: they go in with the next commit.
        self._outcomes: list[tuple[Any, ...]] = []

    # -- life cycle ----------------------------------------------------------------

    def open(self, run: Mapping[str, Any], *, resume: bool) -> bool:
        """Open (or create) the journal for the run described by ``run``.

        Returns whether it already held recipients.  An existing journal needs
        ``resume=True`` and the same ``run`` description; otherwise
        :class:`JournalMismatch` is raised and nothing is touched.
        """
        import sqlite3

        db = sqlite3.connect(self.path, isolation_level="DEFERRED", check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self._synchronous}")
            db.executescript(_SCHEMA)
            stored = dict(db.execute("SELECT name, value FROM meta").fetchall())
            description = json.dumps(dict(run), sort_keys=True, default=str)
            existing = db.execute("SELECT 1 FROM recipients LIMIT 1").fetchone() is not None
            if existing:
                if not resume:
                    raise JournalMismatch(
                        f"the journal {self.path} already holds a run; pass resume=True "
                        "(--resume) to continue it, or use another journal path"
                    )
                if stored.get("run") != description:
                    raise JournalMismatch(
                        f"the journal {self.path} was written by a different run "
                        f"({stored.get('run')}); resume it with the same sender, template "
                        "and content"
                    )
            else:
                db.execute(
                    "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?), (?, ?)",
                    ("schema", _SCHEMA_VERSION, "run", description),
                )
                db.commit()
        except BaseException:
            db.close()
            raise
        self._db = db
        return existing

    def close(self) -> None:
        if self._db is None:
            return
        try:
            self.commit()
        finally:
            db, self._db = self._db, None
            db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reads -----------------------------------------------------------------------

    def lookup(self, key: str) -> JournalEntry | None:
        self._flush()
        row = self._db.execute(
            "SELECT state, attempts, message_id, code, message, retryable "
            "FROM recipients WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return JournalEntry(row[0], row[1], row[2], row[3], row[4], bool(row[5]))

    def counts(self) -> dict[str, int]:
        """Recipients per state."""
        self._flush()
        return dict(
            self._db.execute("SELECT state, COUNT(*) FROM recipients GROUP BY state").fetchall()
        )

    def settled(self) -> int:
        """Recipients whose outcome a resumed run would not send again."""
        self._flush()
        row = self._db.execute(
            "SELECT COUNT(*) FROM recipients WHERE state IN (?, ?, ?, ?)",
            (SENT, FAILED, UNKNOWN, IN_FLIGHT),
        ).fetchone()
        return int(row[0])

    # -- writes ----------------------------------------------------------------------

    def mark_in_flight(self, entries: Iterable[tuple[str, int | None, str, int]]) -> None:
        """Mark ``(key, position, address, attempts)`` in flight and commit: call before sending.

        The outcomes recorded since the last commit are written first, in the
        same transaction.
        """
        now = time.time()
        self._flush()
        self._db.executemany(
            _UPSERT_IN_FLIGHT,
            [
                (key, position, address, attempts, now)
                for key, position, address, attempts in entries
            ],
        )
        self._db.commit()

    def record(
        self,
        key: str,
        position: int | None,
        address: str,
        state: str,
        *,
        attempts: int = 0,
        message_id: str | None = None,
        code: str | None = None,
        message: str | None = None,
        retryable: bool = False,
    ) -> None:
        """Record a recipient's state (written with the next commit)."""
        self._outcomes.append(
            (
                key,
                position,
                address,
                state,
                attempts,
                message_id,
                code,
                message,
                int(retryable),
                time.time(),
            )
        )

    def commit(self) -> None:
        """Write what is buffered and commit."""
        if self._db is not None:
            self._flush()
            self._db.commit()

    def _flush(self) -> None:
        outcomes = self._outcomes
        if outcomes:
            self._outcomes = []
            self._db.executemany(_UPSERT_OUTCOME, outcomes)
