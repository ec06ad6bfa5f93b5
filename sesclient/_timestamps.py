"""Timestamp conversions shared by both wire protocols.

Query and REST query strings carry ISO 8601, REST-JSON bodies carry epoch
seconds; responses come back as timezone-aware UTC datetimes, as botocore
returns them.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timezone

UTC = timezone.utc


def to_datetime(value: object) -> datetime:
    """Accept what boto3 accepts for a timestamp: a datetime, epoch seconds or ISO text."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        return parse_iso8601(value)
    raise TypeError(f"not a timestamp: {type(value).__name__}")


def parse_iso8601(text: str) -> datetime:
    """Parse ``2026-11-28T10:00:00Z`` (with or without fraction or offset)."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        # Python 3.10's fromisoformat rejects fractions that are not 3 or 6 digits.
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        tail = rest[len(digits) :]
        parsed = datetime.fromisoformat(f"{head}.{(digits + '000000')[:6]}{tail}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_iso8601(value: datetime) -> str:
    """botocore's query/URI form: seconds, with microseconds only when present."""
    value = value.astimezone(UTC) if value.tzinfo else value
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_epoch(value: datetime) -> int | float:
    """botocore's JSON-body form: whole epoch seconds."""
    return calendar.timegm(value.utctimetuple())


def from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)
