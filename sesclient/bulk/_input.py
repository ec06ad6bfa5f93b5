"""Recipients: the :class:`Recipient` type, coercion of plain values, and CSV/JSONL files.

A bulk run takes recipients as :class:`Recipient` objects, plain address
strings or dicts.  :func:`coerce_recipient` turns any of them into a
:class:`Recipient` or raises :class:`SESValidationError` saying what is wrong,
so that one bad row fails that recipient only.  :func:`read_recipients`
streams a CSV or JSON Lines file; a malformed row comes out as a
:class:`Malformed` value for the run to report, never as an exception that
would end the run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from os import PathLike, fspath
from typing import Any

from .._errors import SESValidationError

__all__ = [
    "FORMATS",
    "Malformed",
    "Recipient",
    "coerce_recipient",
    "count_recipients",
    "detect_format",
    "read_recipients",
]

FORMATS = ("csv", "jsonl")

# Columns (CSV) or keys (JSONL) with a meaning of their own; every other one is template data.
_ADDRESS_KEYS = ("email", "address")
_CONTENT_KEYS = ("subject", "text", "html")
_DICT_KEYS = frozenset(
    {"address", "email", "template_data", "data", "id", "subject", "text", "html"}
)


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient of a bulk run.

    In a template run, ``template_data`` fills the template for this recipient.
    A recipient with ``text`` or ``html`` of its own gets that message instead,
    sent on its own (``subject`` goes with it).  ``id`` is a stable identity for
    the journal; without it a recipient is known by its address, its data and
    its position in the input, so a resumed run must be given the same input.
    """

    address: str
    template_data: Mapping[str, Any] | None = None
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    id: str | None = None

    @property
    def has_content(self) -> bool:
        return self.text is not None or self.html is not None


@dataclass(frozen=True, slots=True)
class Malformed:
    """An input row that could not be read as a recipient (bad JSON, no address column)."""

    reason: str
    address: str = ""


def coerce_recipient(value: object) -> Recipient:
    """``value`` as a :class:`Recipient`: a Recipient, an address string or a dict.

    A dict takes the keys ``address`` (or ``email``), ``template_data`` (or
    ``data``), ``subject``, ``text``, ``html`` and ``id``.
    """
    if type(value) is Recipient:
        recipient = value
    elif isinstance(value, str):
        return Recipient(value)
    elif isinstance(value, Recipient):
        recipient = value
    elif isinstance(value, Mapping):
        unknown = [key for key in value if key not in _DICT_KEYS]
        if unknown:
            raise SESValidationError(
                f"recipient: unknown key(s) {', '.join(map(repr, sorted(map(str, unknown))))}; "
                "expected address, template_data, subject, text, html, id",
                field="recipient",
            )
        address = value.get("address", value.get("email"))
        data = value.get("template_data", value.get("data"))
        recipient = Recipient(
            address,  # type: ignore[arg-type]
            data,
            value.get("subject"),
            value.get("text"),
            value.get("html"),
            value.get("id"),
        )
    else:
        raise SESValidationError(
            f"recipient: expected a Recipient, an address string or a dict, got "
            f"{type(value).__name__}",
            field="recipient",
        )
    _check_types(recipient)
    return recipient


def _check_types(recipient: Recipient) -> None:
    address = recipient.address
    if not isinstance(address, str) or not address.strip():
        raise SESValidationError("address: a recipient address is required", field="address")
    data = recipient.template_data
    if (
        recipient.subject is None
        and recipient.text is None
        and recipient.html is None
        and recipient.id is None
        and (data is None or type(data) is dict)
    ):
        return  # the common case: an address and its template data
    if data is not None and not isinstance(data, Mapping):
        raise SESValidationError(
            f"template_data: expected a dict, got {type(data).__name__}", field="template_data"
        )
    for name in _CONTENT_KEYS:
        part = getattr(recipient, name)
        if part is not None and not isinstance(part, str):
            raise SESValidationError(
                f"{name}: expected a string, got {type(part).__name__}", field=name
            )
    if recipient.id is not None and not isinstance(recipient.id, str):
        if isinstance(recipient.id, int) and not isinstance(recipient.id, bool):
            object.__setattr__(recipient, "id", str(recipient.id))
        else:
            raise SESValidationError(
                f"id: expected a string, got {type(recipient.id).__name__}", field="id"
            )
    if recipient.subject is not None and not recipient.has_content:
        raise SESValidationError(
            "subject: a recipient with a subject of its own needs text or html too",
            field="subject",
        )


# -- files ----------------------------------------------------------------------


def detect_format(path: str | PathLike[str], format: str | None = None) -> str:
    """``"csv"`` or ``"jsonl"``: the one given, else from the file name's extension."""
    if format is not None:
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
        return format
    name = fspath(path).lower()
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    raise ValueError(f"cannot tell the format of {fspath(path)!r}; name it .csv or .jsonl")


def read_recipients(
    path: str | PathLike[str], *, format: str | None = None, template_data: bool = True
) -> Iterator[Recipient | Malformed]:
    """Stream the recipients of a CSV or JSON Lines file.

    CSV: a header row naming an ``email`` (or ``address``) column; an ``id``
    column gives stable identities; every other column is template data.
    JSONL: one object per line, ``{"email": ..., "data": {...}}`` or flat (every
    key but ``email``/``address``, ``id``, ``subject``, ``text`` and ``html`` is
    template data).  ``template_data=False`` drops the data (a run without a
    template has no use for it).
    """
    kind = detect_format(path, format)
    if kind == "csv":
        return _read_csv(path, template_data)
    return _read_jsonl(path, template_data)


def count_recipients(path: str | PathLike[str], *, format: str | None = None) -> int:
    """How many recipients (rows) the file holds, read without building them."""
    kind = detect_format(path, format)
    with open(path, encoding="utf-8-sig", newline="") as stream:
        if kind == "jsonl":
            return sum(1 for line in stream if line.strip())
        import csv

        reader = csv.reader(stream, dialect=_sniff(stream))
        next(reader, None)
        return sum(1 for row in reader if any(cell.strip() for cell in row))


def _sniff(stream: Any) -> Any:
    import csv

    sample = stream.read(8192)
    stream.seek(0)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _read_csv(path: str | PathLike[str], keep_data: bool) -> Iterator[Recipient | Malformed]:
    import csv

    with open(path, encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream, dialect=_sniff(stream))
        header = next(reader, None)
        if header is None:
            return
        names = [name.strip() for name in header]
        lowered = [name.lower() for name in names]
        address_column = next((lowered.index(key) for key in _ADDRESS_KEYS if key in lowered), None)
        if address_column is None:
            raise ValueError(
                f"{fspath(path)}: no 'email' or 'address' column in the header {names!r}"
            )
        id_column = lowered.index("id") if "id" in lowered else None
        data_columns = [
            (index, name)
            for index, name in enumerate(names)
            if index != address_column and index != id_column and name
        ]
        width = len(names)
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != width:
                address = row[address_column].strip() if len(row) > address_column else ""
                yield Malformed(
                    f"line {reader.line_num}: {len(row)} fields where the header has {width}",
                    address,
                )
                continue
            data = {name: row[index] for index, name in data_columns} if keep_data else None
            yield Recipient(
                row[address_column].strip(),
                data or None,
                id=(row[id_column].strip() or None) if id_column is not None else None,
            )


def _read_jsonl(path: str | PathLike[str], keep_data: bool) -> Iterator[Recipient | Malformed]:
    import json

    with open(path, encoding="utf-8-sig") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                yield Malformed(f"line {number}: not valid JSON: {exc}")
                continue
            if isinstance(value, str):
                yield Recipient(value)
                continue
            if not isinstance(value, dict):
                kind = type(value).__name__
                yield Malformed(f"line {number}: expected a JSON object, got {kind}")
                continue
            yield _from_json_object(value, number, keep_data)


def _from_json_object(value: dict[str, Any], number: int, keep_data: bool) -> Recipient | Malformed:
    address = next((value[key] for key in _ADDRESS_KEYS if key in value), None)
    if not isinstance(address, str):
        return Malformed(f"line {number}: no 'email' or 'address' string")
    if "data" in value or "template_data" in value:
        data = value.get("data", value.get("template_data"))
        extra = [key for key in value if key not in _DICT_KEYS]
        if extra:
            return Malformed(
                f"line {number}: keys {sorted(extra)!r} next to 'data'; put them inside it",
                address,
            )
        if data is not None and not isinstance(data, dict):
            return Malformed(f"line {number}: 'data' must be an object", address)
    elif any(key in value for key in ("text", "html")):
        # A message of its own: the other keys are not template data.
        data = None
    else:
        data = {key: item for key, item in value.items() if key not in _DICT_KEYS} or None
    identity = value.get("id")
    return Recipient(
        address,
        data if keep_data else None,
        value.get("subject"),
        value.get("text"),
        value.get("html"),
        str(identity) if isinstance(identity, (int, str)) else identity,
    )
