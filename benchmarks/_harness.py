"""Measurement core: interleaved rounds, CPU clocks, medians and paired ratios.

Every scenario is a set of contenders measured in the same process, one
round at a time and in turn (A B C, B C A, C A B, ...), so that drift in the
machine's load hits all of them alike.  A ratio between two contenders is
taken round by round and then summarised by its median, never as a ratio of
two medians.
"""

from __future__ import annotations

import gc
import os
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "Contender",
    "Group",
    "Row",
    "Runner",
    "Skipped",
    "cpu_seconds",
    "median",
    "paired_ratios",
    "pin_to_cpu",
    "raise_fd_limit",
    "run_interleaved",
    "spread",
]


class Skipped(Exception):
    """A contender that cannot run here (not installed, not supported); the reason is reported."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Runner(Protocol):
    """One set-up contender: ``runner(n)`` does ``n`` operations.

    It may return a dict of metrics it measured itself (a subprocess's
    numbers, a load generator's rate); otherwise the harness measures client
    CPU and wall time per operation around the call.  ``prepare()`` (optional)
    runs before each measured call, outside the clock.
    """

    def __call__(self, n: int) -> dict[str, float] | None: ...

    def close(self) -> None: ...


@dataclass
class Contender:
    """A named way of doing the scenario's operation.

    ``role`` is ``"subject"`` (sesclient), ``"floor"`` (the least work the
    operation can take, what sesclient is held against) or ``"peer"``.
    ``setup`` builds the runner and raises :class:`Skipped` when it cannot.
    """

    key: str
    label: str
    setup: Callable[[], Runner]
    role: str = "peer"


@dataclass
class Row:
    """The per-round samples of one contender, or why it has none."""

    key: str
    label: str
    role: str = "peer"
    samples: dict[str, list[float]] = field(default_factory=dict)
    skipped: str | None = None
    note: str = ""
    ops_per_round: int = 0

    def add(self, **metrics: float) -> None:
        for name, value in metrics.items():
            self.samples.setdefault(name, []).append(float(value))

    def values(self, metric: str) -> list[float]:
        return self.samples.get(metric, [])

    def median(self, metric: str) -> float | None:
        values = self.values(metric)
        return median(values) if values else None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "role": self.role,
            "samples": self.samples,
            "skipped": self.skipped,
            "note": self.note,
            "ops_per_round": self.ops_per_round,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        return cls(
            key=data["key"],
            label=data["label"],
            role=data.get("role", "peer"),
            samples={k: list(v) for k, v in data.get("samples", {}).items()},
            skipped=data.get("skipped"),
            note=data.get("note", ""),
            ops_per_round=data.get("ops_per_round", 0),
        )


@dataclass
class Group:
    """One table: contenders measured against each other under the same conditions.

    ``kind`` picks the table layout (``cpu``, ``cold``, ``size``, ``rps``,
    ``bulk``); ``subject`` and ``floor`` name the rows that ratios refer to.
    """

    scenario: str
    title: str
    kind: str
    rows: list[Row]
    params: dict[str, Any] = field(default_factory=dict)
    subject: str | None = None
    floor: str | None = None
    note: str = ""

    def row(self, key: str) -> Row | None:
        for row in self.rows:
            if row.key == key and row.skipped is None:
                return row
        return None

    def ratio(self, key: str, other: str | None, metric: str) -> list[float]:
        """Per-round ratios ``key / other`` for ``metric`` (empty when either is missing)."""
        a, b = self.row(key), self.row(other) if other else None
        if a is None or b is None:
            return []
        return paired_ratios(a.values(metric), b.values(metric))

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "title": self.title,
            "kind": self.kind,
            "rows": [row.to_json() for row in self.rows],
            "params": self.params,
            "subject": self.subject,
            "floor": self.floor,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Group:
        return cls(
            scenario=data["scenario"],
            title=data["title"],
            kind=data["kind"],
            rows=[Row.from_json(r) for r in data["rows"]],
            params=data.get("params", {}),
            subject=data.get("subject"),
            floor=data.get("floor"),
            note=data.get("note", ""),
        )


def cpu_seconds() -> float:
    """User plus system CPU of this process (all its threads), in seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> tuple[float, float]:
    return min(values), max(values)


def paired_ratios(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """``a[i] / b[i]`` for the rounds both have (rounds are aligned by index)."""
    return [x / y for x, y in zip(a, b, strict=False) if y]


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0][:160] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def run_interleaved(
    contenders: Sequence[Contender],
    *,
    rounds: int,
    n: int,
    warmup: int = 0,
    round_seconds: float | None = None,
    min_n: int = 1,
    between: Callable[[], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Row]:
    """Set every contender up, then measure ``rounds`` rounds of ``n`` operations each.

    With ``round_seconds``, a contender whose warm-up shows that ``n``
    operations would take longer than that gets fewer per round (never fewer
    than ``min_n``), so one very slow peer cannot stretch the run for an
    hour; results are per operation either way.  The order rotates by one
    contender each round.  A contender whose setup raises :class:`Skipped`
    is reported with its reason; one that fails later
    is reported as failed (with the error) and its samples so far are dropped,
    so nothing half-measured reaches a table.  ``between`` runs before each
    measured call, outside the clock (the server's inbox is emptied there).
    """
    rows: list[Row] = []
    runners: dict[str, Runner] = {}
    try:
        for contender in contenders:
            row = Row(contender.key, contender.label, contender.role)
            rows.append(row)
            try:
                runner = contender.setup()
            except Skipped as exc:
                row.skipped = exc.reason
                continue
            except Exception as exc:
                row.skipped = f"failed to set up: {_describe(exc)}"
                continue
            runners[row.key] = runner
            row.ops_per_round = n
            if warmup:
                try:
                    started = time.perf_counter()
                    runner(warmup)
                    per_op = (time.perf_counter() - started) / warmup
                except Exception as exc:
                    row.skipped = f"failed: {_describe(exc)}"
                    _close(runners.pop(row.key))
                    continue
                if round_seconds is not None and per_op * n > round_seconds:
                    row.ops_per_round = max(min_n, int(round_seconds / per_op))
        for index in range(rounds):
            active = [row for row in rows if row.key in runners]
            if not active:
                break
            shift = index % len(active)
            for row in active[shift:] + active[:shift]:
                runner = runners[row.key]
                if between is not None:
                    between()
                prepare = getattr(runner, "prepare", None)
                if prepare is not None:
                    prepare()
                gc.collect()
                try:
                    cpu0, wall0 = cpu_seconds(), time.perf_counter()
                    count = row.ops_per_round
                    measured = runner(count)
                    wall1, cpu1 = time.perf_counter(), cpu_seconds()
                except Exception as exc:
                    row.skipped = f"failed in round {index + 1}: {_describe(exc)}"
                    row.samples.clear()
                    _close(runners.pop(row.key))
                    continue
                if measured is None:
                    row.add(
                        cpu_us=(cpu1 - cpu0) / count * 1e6, wall_us=(wall1 - wall0) / count * 1e6
                    )
                else:
                    row.add(**measured)
            if progress is not None:
                progress(f"round {index + 1}/{rounds}")
    finally:
        for runner in runners.values():
            _close(runner)
    return rows


def _close(runner: Runner) -> None:
    try:
        runner.close()
    except Exception:
        pass


def pin_to_cpu(cpu: int | None) -> bool:
    """Pin this process to one core, when the machine has it; True if pinned."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return False
    try:
        if cpu not in os.sched_getaffinity(0):
            return False
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return False
    return True


def stop_child(process: Any) -> None:
    """Stop a server child that exits when its stdin closes; kill it if it does not."""
    import subprocess

    try:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    finally:
        if process.stdout is not None:
            process.stdout.close()


def raise_fd_limit() -> None:
    """Lift the soft open-files limit: hundreds of keep-alive connections per contender."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
        if soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (OSError, ValueError):
        pass
