"""The package type-checks cleanly, and its generated stubs check users' calls.

sesclient ships ``py.typed``; ``client.v1`` / ``client.v2`` are typed by the
generated ``_models/ses_v*_types.pyi``.  These tests run mypy in-process with
the project's ``[tool.mypy]`` settings from pyproject.toml.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

mypy_api = pytest.importorskip(
    "mypy.api", reason="mypy is not installed (it is in the test extra: pip install -e '.[test]')"
)

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"

# mypy's "file:line: error: message  [code]" lines.
_ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: (?P<message>.*)$", re.MULTILINE)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for this module: the second run reuses the package's analysis."""
    return tmp_path_factory.mktemp("mypy-cache")


def _mypy(cache_dir: Path, *args: str) -> tuple[str, int]:
    stdout, stderr, status = mypy_api.run(
        ["--config-file", str(PYPROJECT), "--cache-dir", str(cache_dir), *args]
    )
    # Status 2 is mypy failing to run at all (bad option, unreadable file), not type errors.
    assert status != 2, stderr
    return stdout, status


def test_package_has_no_type_errors(cache_dir, monkeypatch):
    # The config's `files = ["sesclient"]` is relative to the repository root.
    monkeypatch.chdir(ROOT)
    stdout, status = _mypy(cache_dir)
    assert _ERROR.findall(stdout) == [], stdout
    assert status == 0, stdout
    assert "Success: no issues found" in stdout


_GOOD = """\
from sesclient import SESClient

client = SESClient(region="eu-west-1")
response = client.v2.send_email(
    FromEmailAddress="sender@example.com",
    Destination={"ToAddresses": ["to@example.com"]},
    Content={"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello"}}}},
)
message_id: str | None = response.get("MessageId")
"""

_BAD = """\
from sesclient import SESClient

client = SESClient(region="eu-west-1")
response = client.v2.send_email(
    FromEmailAddress=42,  # WRONG-ARGUMENT
    Destination={"ToAddresses": ["to@example.com"]},
    Content={"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello"}}}},
)
response["NoSuchKey"]  # WRONG-KEY
"""


def _marked_line(source: str, marker: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if marker in line)


def test_stubs_check_a_users_send_email_call(cache_dir, tmp_path, monkeypatch):
    # Run from the repository root so that `import sesclient` finds this checkout.
    monkeypatch.chdir(ROOT)
    good = tmp_path / "good_usage.py"
    bad = tmp_path / "bad_usage.py"
    good.write_text(_GOOD)
    bad.write_text(_BAD)
    stdout, status = _mypy(cache_dir, str(good), str(bad))

    errors = [(Path(m["file"]).name, int(m["line"]), m["message"]) for m in _ERROR.finditer(stdout)]
    assert [e for e in errors if e[0] != bad.name] == [], stdout
    assert status == 1, stdout

    by_line = {line: message for _, line, message in errors}
    wrong_argument = by_line.get(_marked_line(_BAD, "WRONG-ARGUMENT"), "")
    assert '"FromEmailAddress"' in wrong_argument, stdout
    assert '"int"' in wrong_argument and '"str"' in wrong_argument, stdout
    assert "[typeddict-item]" in by_line.get(_marked_line(_BAD, "WRONG-KEY"), ""), stdout
    assert len(errors) == 2, stdout
