"""``python -m benchmarks``: run the suite, write the report, check the goals.

python -m benchmarks                     # full run, about 10 minutes on 2 cores
python -m benchmarks --quick             # smoke run, a few seconds, numbers meaningless
python -m benchmarks --only sync async   # some scenarios
python -m benchmarks --readme            # also rewrite README.md's benchmark block
python -m benchmarks --profile           # cProfile of sesclient's sync send loop
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._harness import Group, pin_to_cpu, raise_fd_limit
from ._report import (
    README_END,
    README_START,
    evaluate_goals,
    machine_info,
    markdown_report,
    readme_block,
    replace_readme_block,
)
from ._scenarios import SCENARIOS, Settings, Suite
from ._servers import REPO_ROOT

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="sesclient's performance suite, side by side with the alternatives.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes and one round (a smoke test)"
    )
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5, quick 1)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--only", nargs="+", choices=SCENARIOS, metavar="SCENARIO", help=", ".join(SCENARIOS)
    )
    parser.add_argument(
        "--readme",
        action="store_true",
        help=f"rewrite the block between {README_START} and {README_END} in README.md",
    )
    parser.add_argument("--readme-file", type=Path, default=REPO_ROOT / "README.md")
    parser.add_argument("--no-chart", action="store_true", help="do not draw the PNG chart")
    parser.add_argument(
        "--server",
        choices=("local", "canned"),
        default="local",
        help="what the send scenarios talk to: the local SES endpoint (default) or a "
        "canned-response server that does no SES work",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin client and server")
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="FILE",
        help="do not measure: rebuild the report, chart and README block from a latest.json",
    )
    parser.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=3000,
        metavar="SENDS",
        help="profile sesclient's sync v2 send loop (default 3000 sends) and exit",
    )
    return parser


def _pinning(no_pin: bool) -> tuple[int | None, int | None, str]:
    if no_pin or not hasattr(os, "sched_getaffinity"):
        return None, None, "not pinned"
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None, f"not pinned (only {len(cpus)} CPU available)"
    client, server = cpus[0], cpus[1]
    if not pin_to_cpu(client):
        return None, None, "not pinned (sched_setaffinity refused)"
    return client, server, f"client on CPU {client}, server on CPU {server}"


def _profile(settings: Settings, sends: int, out: Path) -> int:
    import cProfile
    import io
    import pstats

    from sesclient import SESClient

    from ._peers import REGION, V2_KWARGS, _sesclient_credentials
    from ._servers import ServerProcess

    with ServerProcess(settings.server, cpu=settings.server_cpu) as server:
        client = SESClient(REGION, _sesclient_credentials(), endpoint_url=server.url)
        send = client.v2.send_email
        for _ in range(200):
            send(**V2_KWARGS)
        # CPU time, not wall: what is spent, not what is waited for.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(sends):
            send(**V2_KWARGS)
        profiler.disable()
        client.close()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(35)
    stats.sort_stats("cumulative").print_stats(35)
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile.txt").write_text(text.getvalue())
    print(text.getvalue())
    print(f"profile written to {out / 'profile.txt'}", file=sys.stderr)
    return 0


def _write_outputs(
    groups: Sequence[Group],
    info: dict[str, Any],
    settings_record: dict[str, Any],
    args: argparse.Namespace,
) -> int:
    goals = evaluate_goals(groups)
    report = markdown_report(groups, goals, info, settings_record)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.md").write_text(report, encoding="utf-8")
    if args.from_json is None or args.from_json.resolve() != (out / "latest.json").resolve():
        record = {
            "machine": info,
            "settings": settings_record,
            "groups": [group.to_json() for group in groups],
            "goals": [goal.to_json() for goal in goals],
        }
        (out / "latest.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    print(report)
    if not args.no_chart:
        from ._chart import write_chart

        subtitle = f"{info['nproc']} CPUs, {info['cpu']}, {info['python']}, {info['date']}"
        print(write_chart(groups, out / "cpu_per_send.png", subtitle=subtitle), file=sys.stderr)
    if args.readme:
        block = readme_block(groups, goals, info, settings_record)
        if replace_readme_block(args.readme_file, block):
            print(f"README block rewritten in {args.readme_file}", file=sys.stderr)
        else:
            print(
                f"README not changed: {README_START} ... {README_END} not found in "
                f"{args.readme_file}",
                file=sys.stderr,
            )
    print(f"report written to {out / 'latest.md'}", file=sys.stderr)
    for goal in goals:
        print(goal.line())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.from_json is not None:
        record = json.loads(args.from_json.read_text(encoding="utf-8"))
        groups = [Group.from_json(g) for g in record["groups"]]
        return _write_outputs(groups, record["machine"], record["settings"], args)

    raise_fd_limit()
    client_cpu, server_cpu, pinning = _pinning(args.no_pin)
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 5)
    settings = Settings(
        quick=args.quick,
        rounds=max(1, rounds),
        server=args.server,
        client_cpu=client_cpu,
        server_cpu=server_cpu,
        only=tuple(args.only) if args.only else SCENARIOS,
    )
    if args.profile is not None:
        return _profile(settings, args.profile, args.out)

    info = machine_info()
    groups = Suite(settings).run()
    try:
        info["load_after"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        info["load_after"] = []
    command = "python -m benchmarks" + "".join(
        f" {shlex.quote(a)}" for a in (argv if argv is not None else sys.argv[1:])
    )
    settings_record = {
        "command": command,
        "quick": settings.quick,
        "rounds": settings.rounds,
        "server": settings.server,
        "pinning": pinning,
        "sizes": settings.sizes,
    }
    return _write_outputs(groups, info, settings_record, args)


if __name__ == "__main__":
    sys.exit(main())
