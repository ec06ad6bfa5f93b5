"""The chart: client CPU per send, by client and by concurrency (matplotlib, optional)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ._harness import Group

__all__ = ["write_chart"]


def write_chart(groups: Sequence[Group], path: Path, *, subtitle: str = "") -> str:
    """Draw the chart to ``path``; returns a one-line message (written, or why not)."""
    try:
        import matplotlib
    except ImportError:
        return "chart skipped: matplotlib is not installed (pip install matplotlib)"
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sync_groups = [g for g in groups if g.scenario in ("sync", "threads")]
    async_groups = sorted(
        (g for g in groups if g.scenario == "async"), key=lambda g: g.params["concurrency"]
    )
    if not sync_groups and not async_groups:
        return "chart skipped: no send scenario ran"

    figure, axes = plt.subplots(1, 2, figsize=(13, 5.5), width_ratios=(1, 1.1))
    left, right = axes

    labels: list[str] = []
    values: list[float] = []
    colours: list[str] = []
    for group in sync_groups:
        suffix = "" if group.scenario == "sync" else f" x{group.params.get('threads')} threads"
        for row in group.rows:
            value = row.median("cpu_us")
            if row.skipped is not None or value is None:
                continue
            labels.append(row.label.replace("`", "") + suffix)
            values.append(value)
            colours.append({"subject": "tab:green", "floor": "tab:grey"}.get(row.role, "tab:blue"))
    positions = list(range(len(labels)))[::-1]
    left.barh(positions, values, color=colours)
    left.set_yticks(positions, labels, fontsize=8)
    left.set_xlabel("client CPU µs per send (lower is better)")
    left.set_title("Sync send")
    for y, value in zip(positions, values, strict=True):
        left.text(value, y, f" {value:,.0f}", va="center", fontsize=7)
    left.margins(x=0.15)

    series: dict[str, tuple[str, str, list[int], list[float]]] = {}
    for group in async_groups:
        for row in group.rows:
            value = row.median("cpu_us")
            if row.skipped is not None or value is None:
                continue
            entry = series.setdefault(row.key, (row.label.replace("`", ""), row.role, [], []))
            entry[2].append(group.params["concurrency"])
            entry[3].append(value)
    for label, role, xs, ys in series.values():
        style = {"subject": "-o", "floor": "--s"}.get(role, ":^")
        right.plot(xs, ys, style, label=label, linewidth=2 if role == "subject" else 1.2)
    if series:
        right.set_xscale("log", base=2)
        right.set_yscale("log")
        levels = sorted({x for _, _, xs, _ in series.values() for x in xs})
        right.set_xticks(levels, [str(x) for x in levels])
        from matplotlib.ticker import FuncFormatter

        plain = FuncFormatter(lambda value, _: f"{value:,.0f}")
        right.yaxis.set_major_formatter(plain)
        right.yaxis.set_minor_formatter(plain)
        right.tick_params(axis="y", which="minor", labelsize=7)
        right.legend(fontsize=8)
    right.set_xlabel("requests in flight")
    right.set_ylabel("client CPU µs per send (log)")
    right.set_title("Async send")
    right.grid(True, which="both", alpha=0.3)

    figure.suptitle(
        "sesclient benchmarks: client CPU per SES send" + (f"\n{subtitle}" if subtitle else ""),
        fontsize=10,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return f"chart written to {path}"
