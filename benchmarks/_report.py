"""Turning groups into markdown: the full report, the goal lines and the README block."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._harness import Group, Row, median, spread

__all__ = [
    "README_END",
    "README_START",
    "Goal",
    "evaluate_goals",
    "machine_info",
    "markdown_report",
    "readme_block",
    "replace_readme_block",
]

README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"

_VERSIONED = (
    "httpx",
    "boto3",
    "botocore",
    "aiobotocore",
    "aiohttp",
    "capo-ses",
    "capo-sesv2",
    "matplotlib",
)


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        model = platform.processor()
    versions: dict[str, str] = {}
    for name in _VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        import sesclient

        versions = {"sesclient": sesclient.__version__ + _git_revision(), **versions}
    except ImportError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": model or "unknown",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(),
        "versions": versions,
        "load_before": [round(x, 2) for x in load],
    }


def _git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            cwd=Path(__file__).resolve().parent,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    revision = out.stdout.decode().strip()
    return f" (git {revision})" if out.returncode == 0 and revision else ""


# -- number formatting ------------------------------------------------------------------


def _num(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _median_range(values: Sequence[float]) -> tuple[str, str]:
    if not values:
        return "n/a", ""
    low, high = spread(values)
    return _num(median(values)), f"{_num(low)}-{_num(high)}"


def _ratio(values: Sequence[float]) -> str:
    if not values:
        return ""
    low, high = spread(values)
    if len(values) == 1:
        return f"{median(values):.2f}x"
    return f"{median(values):.2f}x ({low:.2f}-{high:.2f})"


# -- goals ----------------------------------------------------------------------------


@dataclass
class Goal:
    """One of the project's performance targets, checked against this run."""

    name: str
    target: float
    ratios: list[float]
    detail: str

    @property
    def value(self) -> float | None:
        return median(self.ratios) if self.ratios else None

    @property
    def status(self) -> str:
        if self.value is None:
            return "SKIP"
        return "PASS" if self.value <= self.target else "FAIL"

    def line(self) -> str:
        if self.value is None:
            return f"SKIP {self.name}: {self.detail} (target <= {self.target}x)"
        low, high = spread(self.ratios)
        return (
            f"{self.status} {self.name}: {self.value:.2f}x {self.detail} "
            f"(rounds {low:.2f}-{high:.2f}; target <= {self.target}x)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.target,
            "ratios": self.ratios,
            "value": self.value,
            "status": self.status,
            "detail": self.detail,
        }


def _find(groups: Sequence[Group], scenario: str, **params: Any) -> Group | None:
    for group in groups:
        if group.scenario == scenario and all(group.params.get(k) == v for k, v in params.items()):
            return group
    return None


def _goal(
    groups: Sequence[Group],
    name: str,
    target: float,
    scenario: str,
    key: str,
    other: str,
    metric: str,
    detail: str,
    **params: Any,
) -> Goal | None:
    group = _find(groups, scenario, **params)
    if group is None:
        return None
    ratios = group.ratio(key, other, metric)
    if not ratios:
        missing = [
            r.label + f" ({r.skipped})" for r in group.rows if r.key in (key, other) and r.skipped
        ]
        detail = "not measured: " + ("; ".join(missing) or "no samples")
    return Goal(name, target, ratios, detail)


def evaluate_goals(groups: Sequence[Group]) -> list[Goal]:
    """The four targets from the project's goals, for the scenarios that ran."""
    candidates = [
        _goal(
            groups,
            "sync send CPU",
            1.3,
            "sync",
            "sesclient-v2",
            "raw-httpx",
            "cpu_us",
            "sesclient v2 send vs raw httpx prebuilt request",
        ),
        _goal(
            groups,
            "signing CPU",
            1.5,
            "sign",
            "sesclient",
            "floor",
            "cpu_us",
            "sesclient sign_request vs bare hashlib/hmac signer",
        ),
        _goal(
            groups,
            "cold start wall",
            1.1,
            "cold-start",
            "sesclient",
            "httpx",
            "wall_ms",
            "import sesclient + SESClient vs import httpx + httpx.Client",
        ),
        _goal(
            groups,
            "cold start peak RSS",
            1.1,
            "cold-start",
            "sesclient",
            "httpx",
            "rss_mib",
            "import sesclient + SESClient vs import httpx + httpx.Client",
        ),
        _goal(
            groups,
            "async send CPU at 64 in flight",
            2.0,
            "async",
            "sesclient-v2",
            "raw-aiohttp",
            "cpu_us",
            "AsyncSESClient v2 vs raw aiohttp prebuilt bytes",
            concurrency=64,
        ),
    ]
    return [goal for goal in candidates if goal is not None]


# -- tables ---------------------------------------------------------------------------


def _skipped_line(row: Row, width: int) -> str:
    return f"| {row.label} | skipped: {row.skipped} |" + " |" * (width - 2)


def _cpu_table(group: Group) -> list[str]:
    unit = "signature" if group.scenario == "sign" else "send"
    header = [
        f"| {'signer' if unit == 'signature' else 'client'} | CPU µs/{unit} | min-max "
        f"| wall {unit}s/s | ÷ floor | ÷ sesclient |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines = header
    for row in group.rows:
        if row.skipped is not None:
            lines.append(_skipped_line(row, 6))
            continue
        cpu, cpu_range = _median_range(row.values("cpu_us"))
        wall = row.median("wall_us")
        rate = _num(1e6 / wall) if wall else "n/a"
        to_floor = (
            "" if row.key == group.floor else _ratio(group.ratio(row.key, group.floor, "cpu_us"))
        )
        to_subject = (
            ""
            if row.key == group.subject
            else _ratio(group.ratio(row.key, group.subject, "cpu_us"))
        )
        label = f"**{row.label}**" if row.key == group.subject else row.label
        lines.append(f"| {label} | {cpu} | {cpu_range} | {rate} | {to_floor} | {to_subject} |")
    return lines


def _cold_table(group: Group) -> list[str]:
    lines = [
        "| snippet | import + client, ms | min-max | peak RSS, MiB | min-max "
        "| wall ÷ httpx | RSS ÷ httpx |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in group.rows:
        if row.skipped is not None:
            lines.append(_skipped_line(row, 7))
            continue
        wall, wall_range = _median_range(row.values("wall_ms"))
        rss, rss_range = _median_range(row.values("rss_mib"))
        if row.key == group.floor or row.role == "baseline":
            wall_ratio = rss_ratio = ""
        else:
            wall_ratio = _ratio(group.ratio(row.key, group.floor, "wall_ms"))
            rss_ratio = _ratio(group.ratio(row.key, group.floor, "rss_mib"))
        label = f"**{row.label}**" if row.key == group.subject else row.label
        cells = [label, wall, wall_range, rss, rss_range, wall_ratio, rss_ratio]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _size_table(group: Group) -> list[str]:
    lines = ["| stack | MiB | files | distributions |", "|---|---:|---:|---|"]
    for row in group.rows:
        if row.skipped is not None:
            lines.append(_skipped_line(row, 4))
            continue
        mib = row.median("mib") or 0.0
        files = int(row.median("files") or 0)
        label = f"**{row.label}**" if row.role == "subject" else row.label
        lines.append(f"| {label} | {mib:.2f} | {files} | {row.note} |")
    return lines


def _rps_table(group: Group) -> list[str]:
    lines = [
        "| endpoint configuration | requests/s | min-max | server CPU µs/request |",
        "|---|---:|---:|---:|",
    ]
    for row in group.rows:
        if row.skipped is not None:
            lines.append(_skipped_line(row, 4))
            continue
        rps, rps_range = _median_range(row.values("rps"))
        cpu, _ = _median_range(row.values("server_cpu_us"))
        lines.append(f"| {row.label} | {rps} | {rps_range} | {cpu} |")
    return lines


def _bulk_table(group: Group) -> list[str]:
    if not any(row.samples for row in group.rows):
        return _generic_table(group)
    lines = [
        "| contender | recipients/s | min-max | CPU µs/recipient | CPU µs/call "
        "| CPU ÷ floor | CPU ÷ sesclient |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in group.rows:
        if row.skipped is not None:
            lines.append(_skipped_line(row, 7))
            continue
        rate, rate_range = _median_range(row.values("recipients_per_s"))
        per_recipient, _ = _median_range(row.values("cpu_us_per_recipient"))
        per_call, _ = _median_range(row.values("cpu_us_per_call"))
        metric = "cpu_us_per_recipient"
        to_floor = (
            "" if row.key == group.floor else _ratio(group.ratio(row.key, group.floor, metric))
        )
        to_subject = (
            "" if row.key == group.subject else _ratio(group.ratio(row.key, group.subject, metric))
        )
        label = f"**{row.label}**" if row.key == group.subject else row.label
        cells = [label, rate, rate_range, per_recipient, per_call, to_floor, to_subject]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _generic_table(group: Group) -> list[str]:
    metrics = sorted({m for row in group.rows for m in row.samples}) or ["result"]
    lines = [
        "| contender | " + " | ".join(metrics) + " |",
        "|---|" + "---:|" * len(metrics),
    ]
    for row in group.rows:
        if row.skipped is not None:
            lines.append(_skipped_line(row, len(metrics) + 1))
            continue
        cells = []
        for metric in metrics:
            value, value_range = _median_range(row.values(metric))
            cells.append(f"{value} ({value_range})" if len(row.values(metric)) > 1 else value)
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return lines


_TABLES = {
    "cpu": _cpu_table,
    "cold": _cold_table,
    "size": _size_table,
    "rps": _rps_table,
    "bulk": _bulk_table,
}


def group_table(group: Group) -> list[str]:
    return _TABLES.get(group.kind, _generic_table)(group)


def _machine_lines(info: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    pinning = settings.get("pinning", "not pinned")
    return [
        f"- Date: {info['date']}",
        f"- Machine: {info['nproc']} CPUs, {info['cpu']}; {info['os']}; {info['python']}",
        f"- Load average before / after: {info['load_before']} / {info.get('load_after', '?')}",
        f"- Pinning: {pinning}",
        f"- Rounds: {settings.get('rounds')} interleaved (order rotated each round)"
        f"{'; quick mode' if settings.get('quick') else ''}; server: {settings.get('server')}",
        f"- Versions: {versions}",
    ]


def markdown_report(
    groups: Sequence[Group],
    goals: Sequence[Goal],
    info: dict[str, Any],
    settings: dict[str, Any],
) -> str:
    """The full report (``results/latest.md``)."""
    lines = [
        "# sesclient benchmarks",
        "",
        f"Command: `{settings.get('command', 'python -m benchmarks')}`",
        "",
        *_machine_lines(info, settings),
        "",
        "Medians over rounds with min-max; every ratio is taken per round, then its median "
        "is shown (with the rounds' min-max). Lower is better for CPU and time.",
        "",
        "## Goals",
        "",
    ]
    lines += [f"- `{goal.line()}`" for goal in goals] or ["- (no goal scenario ran)"]
    for group in groups:
        lines += ["", f"## {group.title}", ""]
        if group.note:
            lines += [group.note, ""]
        lines += group_table(group)
        n = group.params.get("n")
        fewer = [
            f"{row.label.replace('`', '')}: {row.ops_per_round}"
            for row in group.rows
            if n and row.skipped is None and 0 < row.ops_per_round < n
        ]
        if n:
            lines += ["", f"Operations per round: {n}."]
            if fewer:
                lines[-1] += " Fewer for the slowest (to bound a round's wall time): "
                lines[-1] += "; ".join(fewer) + "."
    lines.append("")
    return "\n".join(lines)


# -- README ---------------------------------------------------------------------------

_SUMMARY_ROWS = (
    ("sesclient v2", "sesclient-v2", "sesclient-v2", "sesclient-v2"),
    ("sesclient v1", "sesclient-v1", None, None),
    ("boto3 `sesv2`", "boto3-sesv2", "boto3-sesv2", None),
    ("boto3 `ses`", "boto3-ses", "boto3-ses", None),
    ("aiobotocore `sesv2`", None, None, "aiobotocore-sesv2"),
    ("capo-sesv2", "capo-sesv2", None, "capo-sesv2"),
    ("raw httpx, prebuilt request", "raw-httpx", "raw-httpx", "httpx-async"),
    ("raw aiohttp, prebuilt bytes", None, None, "raw-aiohttp"),
)


def _cell(group: Group | None, key: str | None) -> str:
    if group is None or key is None:
        return "—"
    row = group.row(key)
    if row is None:
        return "skipped" if any(r.key == key for r in group.rows) else "—"
    value = row.median("cpu_us")
    return _num(value) if value is not None else "n/a"


def readme_block(
    groups: Sequence[Group],
    goals: Sequence[Goal],
    info: dict[str, Any],
    settings: dict[str, Any],
) -> str:
    """The README section: a summary table, start-up and size, the goal lines."""
    sync = _find(groups, "sync")
    threads = _find(groups, "threads")
    async64 = _find(groups, "async", concurrency=64)
    thread_count = threads.params.get("threads", 8) if threads else 8
    lines = [
        f"Measured by `python -m benchmarks` on {info['nproc']} CPUs ({info['cpu']}), "
        f"{info['python']}, {info['date']}: client pinned to one core, the local endpoint "
        f"in its own process on the other; medians of {settings.get('rounds')} interleaved "
        "rounds. Client CPU per send (µs, user + system, lower is better):",
        "",
        f"| client | one thread | {thread_count} threads | async, 64 in flight |",
        "|---|---:|---:|---:|",
    ]
    for label, sync_key, thread_key, async_key in _SUMMARY_ROWS:
        cells = [_cell(sync, sync_key), _cell(threads, thread_key), _cell(async64, async_key)]
        if all(cell == "—" for cell in cells):
            continue
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    cold = _find(groups, "cold-start")
    if cold is not None:
        parts = []
        for key in ("sesclient", "httpx", "boto3"):
            row = cold.row(key)
            if row is not None:
                parts.append(
                    f"{key} {_num(row.median('wall_ms') or 0)} ms / "
                    f"{_num(row.median('rss_mib') or 0)} MiB"
                )
        if parts:
            lines += ["", "Cold start (import + client, peak RSS): " + "; ".join(parts) + "."]
    size = _find(groups, "size")
    if size is not None:
        parts = []
        for key in ("sesclient", "sesclient+httpx", "boto3"):
            row = size.row(key)
            if row is not None:
                parts.append(f"{row.label} {row.median('mib') or 0:.1f} MiB")
        if parts:
            lines += ["", "Installed size: " + "; ".join(parts) + "."]
    bulk = _find(groups, "bulk")
    if bulk is not None and any(row.samples for row in bulk.rows):
        parts = []
        for row in bulk.rows:
            rate, cost = row.median("recipients_per_s"), row.median("cpu_us_per_recipient")
            if row.skipped is None and rate is not None and cost is not None:
                parts.append(f"{row.label} {_num(rate)}/s at {_num(cost)} µs")
        lines += [
            "",
            f"Bulk ({bulk.params.get('recipients', 0):,} recipients, 50 per SendBulkEmail, "
            f"{bulk.params.get('concurrency')} calls in flight; recipients per second at client "
            "CPU per recipient): " + "; ".join(parts) + ".",
        ]
    sign = _find(groups, "sign")
    if sign is not None:
        parts = []
        for key, label in (
            ("sesclient", "sesclient"),
            ("floor", "bare hmac"),
            ("botocore", "botocore"),
        ):
            row = sign.row(key)
            if row is not None:
                parts.append(f"{label} {_num(row.median('cpu_us') or 0)} µs")
        if parts:
            lines += ["", "SigV4 signing per request: " + "; ".join(parts) + "."]
    if goals:
        lines += ["", "Goals:", ""] + [f"- `{goal.line()}`" for goal in goals]
    lines += [
        "",
        "Reproduce with `pip install -e '.[bench]'` then `python -m benchmarks` "
        "(full tables in `benchmarks/results/latest.md`, chart in "
        "`benchmarks/results/cpu_per_send.png`).",
    ]
    return "\n".join(lines)


def replace_readme_block(readme: Path, block: str) -> bool:
    """Rewrite what lies between the markers; False (file untouched) when they are missing."""
    text = readme.read_text(encoding="utf-8")
    start = text.find(README_START)
    end = text.find(README_END, start + len(README_START)) if start >= 0 else -1
    if start < 0 or end < 0:
        return False
    new = text[: start + len(README_START)] + "\n" + block.strip() + "\n" + text[end:]
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return True
