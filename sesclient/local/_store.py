"""Where the local endpoint keeps what it was told: messages, identities, templates,
the suppression list and the counters behind ``/_inbox/api/stats``.

Two interchangeable stores: :class:`MemoryStore` (the default, fastest, gone
when the process ends) and :class:`SQLiteStore` (a file, shared by several
worker processes, kept across restarts).  Records are plain dicts so that the
inbox API can hand them out as JSON without translation.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any, Protocol

__all__ = ["MemoryStore", "SQLiteStore", "Store", "open_store"]

Record = dict[str, Any]


class Store(Protocol):
    """What the endpoint needs from a store."""

    def add_message(self, record: Record, attachments: list[bytes]) -> None: ...
    def list_messages(self) -> list[Record]: ...
    def get_message(self, message_id: str) -> Record | None: ...
    def get_attachment(self, message_id: str, index: int) -> bytes | None: ...
    def clear_messages(self) -> int: ...
    def mark_seen(self, key: str) -> bool: ...
    def put_identity(self, identity: Record) -> None: ...
    def get_identity(self, name: str) -> Record | None: ...
    def list_identities(self) -> list[Record]: ...
    def delete_identity(self, name: str) -> bool: ...
    def put_template(self, template: Record) -> None: ...
    def get_template(self, name: str) -> Record | None: ...
    def list_templates(self) -> list[Record]: ...
    def delete_template(self, name: str) -> bool: ...
    def put_suppressed(self, entry: Record) -> None: ...
    def get_suppressed(self, address: str) -> Record | None: ...
    def list_suppressed(self) -> list[Record]: ...
    def delete_suppressed(self, address: str) -> bool: ...
    def has_suppressed(self) -> bool: ...
    def incr(self, name: str, amount: int = 1) -> None: ...
    def counters(self) -> dict[str, int]: ...
    def close(self) -> None: ...


def open_store(db: str | None) -> Store:
    """A SQLite store for a path, else an in-memory one."""
    return SQLiteStore(db) if db else MemoryStore()


class MemoryStore:
    """Everything in dicts; what a single process needs, and the fastest.

    A lock guards mutation because the threaded runner's owner may read
    while the server thread writes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: dict[str, tuple[Record, list[bytes]]] = {}
        self._seen: set[str] = set()
        self._identities: dict[str, Record] = {}
        self._templates: dict[str, Record] = {}
        self._suppressed: dict[str, Record] = {}
        self._counters: dict[str, int] = {}

    def add_message(self, record: Record, attachments: list[bytes]) -> None:
        self._messages[record["message_id"]] = (record, attachments)

    def list_messages(self) -> list[Record]:
        with self._lock:
            return [record for record, _ in list(self._messages.values())]

    def get_message(self, message_id: str) -> Record | None:
        entry = self._messages.get(message_id)
        return entry[0] if entry else None

    def get_attachment(self, message_id: str, index: int) -> bytes | None:
        entry = self._messages.get(message_id)
        if entry is None or not 0 <= index < len(entry[1]):
            return None
        return entry[1][index]

    def clear_messages(self) -> int:
        with self._lock:
            count = len(self._messages)
            self._messages = {}
            self._seen = set()
        return count

    def mark_seen(self, key: str) -> bool:
        """Remember ``key``; True if it was already known."""
        seen = self._seen
        if key in seen:
            return True
        seen.add(key)
        return False

    def put_identity(self, identity: Record) -> None:
        self._identities[identity["name"].lower()] = identity

    def get_identity(self, name: str) -> Record | None:
        return self._identities.get(name.lower())

    def list_identities(self) -> list[Record]:
        return list(self._identities.values())

    def delete_identity(self, name: str) -> bool:
        return self._identities.pop(name.lower(), None) is not None

    def put_template(self, template: Record) -> None:
        self._templates[template["name"]] = template

    def get_template(self, name: str) -> Record | None:
        return self._templates.get(name)

    def list_templates(self) -> list[Record]:
        return list(self._templates.values())

    def delete_template(self, name: str) -> bool:
        return self._templates.pop(name, None) is not None

    def put_suppressed(self, entry: Record) -> None:
        self._suppressed[entry["address"].lower()] = entry

    def get_suppressed(self, address: str) -> Record | None:
        return self._suppressed.get(address.lower())

    def list_suppressed(self) -> list[Record]:
        return list(self._suppressed.values())

    def delete_suppressed(self, address: str) -> bool:
        return self._suppressed.pop(address.lower(), None) is not None

    def has_suppressed(self) -> bool:
        return bool(self._suppressed)

    def incr(self, name: str, amount: int = 1) -> None:
        counters = self._counters
        counters[name] = counters.get(name, 0) + amount

    def counters(self) -> dict[str, int]:
        return dict(self._counters)

    def close(self) -> None:
        pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attachments (
    message_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (message_id, idx)
);
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS identities (name TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS templates (name TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS suppressed (address TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class SQLiteStore:
    """A SQLite file; several worker processes may share one.

    Each statement commits on its own (WAL journal, ``synchronous=NORMAL``):
    a crash loses at most the last few messages, and other workers see a
    message as soon as it was accepted.
    """

    def __init__(self, path: str) -> None:
        import sqlite3

        self._path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._db.executescript(_SCHEMA)

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
        return row[0] if row else None

    def _records(self, sql: str, args: tuple[Any, ...] = ()) -> list[Record]:
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [json.loads(row[0]) for row in rows]

    def _write(self, statements: Iterator[tuple[str, tuple[Any, ...]]] | list[Any]) -> int:
        changed = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    changed += self._db.execute(sql, args).rowcount
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return changed

    def add_message(self, record: Record, attachments: list[bytes]) -> None:
        message_id = record["message_id"]
        statements: list[tuple[str, tuple[Any, ...]]] = [
            (
                "INSERT INTO messages (message_id, record) VALUES (?, ?)",
                (message_id, json.dumps(record)),
            )
        ]
        statements.extend(
            ("INSERT INTO attachments (message_id, idx, data) VALUES (?, ?, ?)", (message_id, i, d))
            for i, d in enumerate(attachments)
        )
        self._write(statements)

    def list_messages(self) -> list[Record]:
        return self._records("SELECT record FROM messages ORDER BY seq")

    def get_message(self, message_id: str) -> Record | None:
        text = self._one("SELECT record FROM messages WHERE message_id = ?", (message_id,))
        return json.loads(text) if text is not None else None

    def get_attachment(self, message_id: str, index: int) -> bytes | None:
        data = self._one(
            "SELECT data FROM attachments WHERE message_id = ? AND idx = ?", (message_id, index)
        )
        return bytes(data) if data is not None else None

    def clear_messages(self) -> int:
        with self._lock:
            count = int(self._one("SELECT COUNT(*) FROM messages", ()))
            self._write(
                [
                    ("DELETE FROM messages", ()),
                    ("DELETE FROM attachments", ()),
                    ("DELETE FROM seen", ()),
                ]
            )
        return count

    def mark_seen(self, key: str) -> bool:
        with self._lock:
            cursor = self._db.execute("INSERT OR IGNORE INTO seen (key) VALUES (?)", (key,))
        return cursor.rowcount == 0

    def put_identity(self, identity: Record) -> None:
        self._write(
            [
                (
                    "INSERT OR REPLACE INTO identities (name, record) VALUES (?, ?)",
                    (identity["name"].lower(), json.dumps(identity)),
                )
            ]
        )

    def get_identity(self, name: str) -> Record | None:
        text = self._one("SELECT record FROM identities WHERE name = ?", (name.lower(),))
        return json.loads(text) if text is not None else None

    def list_identities(self) -> list[Record]:
        return self._records("SELECT record FROM identities ORDER BY rowid")

    def delete_identity(self, name: str) -> bool:
        return self._write([("DELETE FROM identities WHERE name = ?", (name.lower(),))]) > 0

    def put_template(self, template: Record) -> None:
        self._write(
            [
                (
                    "INSERT OR REPLACE INTO templates (name, record) VALUES (?, ?)",
                    (template["name"], json.dumps(template)),
                )
            ]
        )

    def get_template(self, name: str) -> Record | None:
        text = self._one("SELECT record FROM templates WHERE name = ?", (name,))
        return json.loads(text) if text is not None else None

    def list_templates(self) -> list[Record]:
        return self._records("SELECT record FROM templates ORDER BY rowid")

    def delete_template(self, name: str) -> bool:
        return self._write([("DELETE FROM templates WHERE name = ?", (name,))]) > 0

    def put_suppressed(self, entry: Record) -> None:
        self._write(
            [
                (
                    "INSERT OR REPLACE INTO suppressed (address, record) VALUES (?, ?)",
                    (entry["address"].lower(), json.dumps(entry)),
                )
            ]
        )

    def get_suppressed(self, address: str) -> Record | None:
        text = self._one("SELECT record FROM suppressed WHERE address = ?", (address.lower(),))
        return json.loads(text) if text is not None else None

    def list_suppressed(self) -> list[Record]:
        return self._records("SELECT record FROM suppressed ORDER BY rowid")

    def delete_suppressed(self, address: str) -> bool:
        return self._write([("DELETE FROM suppressed WHERE address = ?", (address.lower(),))]) > 0

    def has_suppressed(self) -> bool:
        return self._one("SELECT 1 FROM suppressed LIMIT 1", ()) is not None

    def incr(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (name, amount),
            )

    def counters(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT name, value FROM counters").fetchall()
        return {name: int(value) for name, value in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()
