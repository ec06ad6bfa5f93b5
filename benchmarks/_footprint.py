"""Start-up cost and installed size.

Cold start runs each snippet in a fresh interpreter (``python -s -c``) and
has the child report two numbers: the wall time of the snippet (the imports
plus client construction; interpreter start-up itself is the same for all and
is shown on the ``python`` baseline row) and the peak RSS of the whole
process (``VmHWM`` from ``/proc/self/status``).  Bytecode caches are warmed
by one discarded run of each snippet, so "cold" means a new process, not a
cold disk cache.

Installed size adds up the files a distribution installed (its RECORD),
leaving out ``__pycache__`` and the ``.dist-info`` metadata; sesclient,
which runs from the repository, counts its package directory the same way.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from ._harness import Contender, Skipped
from ._servers import REPO_ROOT, child_env

__all__ = ["COLD_SNIPPETS", "cold_start_contenders", "installed_sizes"]

#: (key, label, module that must be importable, snippet)
COLD_SNIPPETS: list[tuple[str, str, str | None, str]] = [
    ("python", "python alone (baseline)", None, "pass"),
    (
        "sesclient",
        "sesclient: `import sesclient; SESClient(region, creds)`",
        "sesclient",
        "import sesclient\n"
        "client = sesclient.SESClient('us-east-1', sesclient.Credentials('AKIDEXAMPLE', 'x'))",
    ),
    (
        "sesclient-v1",
        "sesclient after its first v1 operation (v1's table loaded)",
        "sesclient",
        "import sesclient\n"
        "client = sesclient.SESClient('us-east-1', sesclient.Credentials('AKIDEXAMPLE', 'x'))\n"
        "client.v1.send_email",
    ),
    (
        "sesclient-both",
        "sesclient with both operation tables loaded (what laziness saves)",
        "sesclient",
        "import sesclient\n"
        "client = sesclient.SESClient('us-east-1', sesclient.Credentials('AKIDEXAMPLE', 'x'))\n"
        "client.v1.send_email, client.v2.send_email",
    ),
    (
        "httpx",
        "httpx: `import httpx; httpx.Client()`",
        "httpx",
        "import httpx\nclient = httpx.Client()",
    ),
    (
        "boto3",
        "boto3: `import boto3; boto3.client('sesv2', ...)`",
        "boto3",
        "import boto3\nclient = boto3.client('sesv2', region_name='us-east-1', "
        "aws_access_key_id='AKIDEXAMPLE', aws_secret_access_key='x')",
    ),
    (
        "capo-sesv2",
        "capo-sesv2: `import capo_sesv2; SESv2Client(...)`",
        "capo_sesv2",
        "import capo_sesv2\nclient = capo_sesv2.SESv2Client(region='us-east-1', "
        "credentials={'access_key': 'AKIDEXAMPLE', 'secret_key': 'x'})",
    ),
]

_WRAPPER = """\
import time as _t
_t0 = _t.perf_counter()
{snippet}
_t1 = _t.perf_counter()
_hwm = 0
with open('/proc/self/status') as _f:
    for _line in _f:
        if _line.startswith('VmHWM:'):
            _hwm = int(_line.split()[1])
import json as _j
print(_j.dumps({{'wall_ms': (_t1 - _t0) * 1e3, 'rss_mib': _hwm / 1024}}))
"""


class ColdStart:
    """Runs one snippet in a new interpreter per call and returns what the child measured."""

    def __init__(self, snippet: str, *, warm: bool) -> None:
        self._code = _WRAPPER.format(snippet=snippet)
        if warm:
            self(1)

    def __call__(self, n: int) -> dict[str, float]:
        result = subprocess.run(
            [sys.executable, "-s", "-c", self._code],
            capture_output=True,
            cwd=REPO_ROOT,
            env=child_env(),
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            tail = result.stderr.decode(errors="replace").strip().splitlines()[-1:]
            raise RuntimeError(f"child failed: {' '.join(tail)}")
        return json.loads(result.stdout.decode().strip().splitlines()[-1])

    def close(self) -> None:
        pass


def cold_start_contenders(*, warm: bool) -> list[Contender]:
    contenders = []
    for key, label, module, snippet in COLD_SNIPPETS:

        def setup(module: str | None = module, snippet: str = snippet) -> ColdStart:
            if module is not None and importlib.util.find_spec(module) is None:
                raise Skipped(f"not installed (pip install {module.replace('_', '-')})")
            return ColdStart(snippet, warm=warm)

        role = {"sesclient": "subject", "httpx": "floor", "python": "baseline"}.get(key, "peer")
        contenders.append(Contender(key, label, setup, role))
    return contenders


# -- installed size ------------------------------------------------------------------

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(root: str) -> list[importlib.metadata.Distribution]:
    """``root`` and every distribution it requires (extras left out), as installed here."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    pending = [root]
    while pending:
        name = _normal(pending.pop())
        if name in seen:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            if name == _normal(root):
                raise
            continue  # an optional or platform-specific requirement not installed here
        seen[name] = dist
        for requirement in dist.requires or ():
            spec, _, marker = requirement.partition(";")
            if "extra" in marker:
                continue
            match = _NAME.match(spec)
            if match:
                pending.append(match.group(1))
    return list(seen.values())


def _dist_bytes(dist: importlib.metadata.Distribution) -> tuple[int, int]:
    total = files = 0
    for entry in dist.files or ():
        parts = entry.parts
        if "__pycache__" in parts or (parts and parts[0].endswith(".dist-info")):
            continue
        path = Path(str(entry.locate()))
        try:
            total += path.stat().st_size
            files += 1
        except OSError:
            continue
    return total, files


def _tree_bytes(directory: Path) -> tuple[int, int]:
    total = files = 0
    for folder, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in names:
            total += (Path(folder) / name).stat().st_size
            files += 1
    return total, files


def _sesclient_dir() -> Path:
    spec = importlib.util.find_spec("sesclient")
    if spec is None or not spec.submodule_search_locations:
        raise Skipped("sesclient is not importable")
    return Path(next(iter(spec.submodule_search_locations)))


def installed_sizes() -> list[tuple[str, str, str, float, int, str]]:
    """``(key, label, role, MiB, files, packages)`` per stack; a missing one has ``files=-1``."""
    rows: list[tuple[str, str, str, float, int, str]] = []
    try:
        size, files = _tree_bytes(_sesclient_dir())
        rows.append(("sesclient", "sesclient alone", "subject", size / 2**20, files, "sesclient"))
    except Skipped as exc:
        rows.append(("sesclient", "sesclient alone", "subject", 0.0, -1, exc.reason))
    stacks = [
        ("sesclient+httpx", "sesclient + its one dependency (httpx and what it needs)", "httpx"),
        ("boto3", "boto3 and what it needs", "boto3"),
        ("aiobotocore", "aiobotocore and what it needs", "aiobotocore"),
        ("capo-sesv2", "capo-sesv2 and what it needs", "capo-sesv2"),
    ]
    for key, label, root in stacks:
        try:
            dists = _closure(root)
        except importlib.metadata.PackageNotFoundError:
            rows.append((key, label, "peer", 0.0, -1, f"not installed (pip install {root})"))
            continue
        size = files = 0
        for dist in dists:
            dist_size, dist_files = _dist_bytes(dist)
            size += dist_size
            files += dist_files
        names = sorted(_normal(d.metadata["Name"]) for d in dists)
        if key == "sesclient+httpx":
            extra, extra_files = _tree_bytes(_sesclient_dir())
            size, files, names = size + extra, files + extra_files, ["sesclient", *names]
        role = "subject" if key.startswith("sesclient") else "peer"
        rows.append((key, label, role, size / 2**20, files, ", ".join(names)))
    return rows
