"""The inbox: a JSON API and a small HTML page over the messages the endpoint accepted.

JSON (no signature needed):

* ``GET /_inbox/api/messages`` (filters ``to``, ``from``, ``subject``, ``limit``)
* ``GET /_inbox/api/messages/{id}``
* ``GET /_inbox/api/messages/{id}/attachments/{n}``
* ``DELETE /_inbox/api/messages``
* ``GET /_inbox/api/stats``

HTML: ``/_inbox`` lists the messages, ``/_inbox/messages/{id}`` shows one.  The
page is rendered on the server, loads nothing from elsewhere and runs no
script; a message's HTML body is shown in a ``sandbox=""`` iframe through
``srcdoc``, under a Content-Security-Policy that forbids scripts and remote
content.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from html import escape
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from ._http import Request, Response
from ._service import LocalService, bare_address

__all__ = ["Inbox"]

_JSON = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
# Nothing but inline styles; iframes only from srcdoc; images only inline data.
_PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
_PAGE = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Security-Policy", _PAGE_CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
]
# An attachment is a download, never a document of this origin.
_DOWNLOAD_CSP = "default-src 'none'; sandbox"


def _iso(seconds: float) -> str:
    stamp = datetime.fromtimestamp(seconds, timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def public_record(record: dict[str, Any]) -> dict[str, Any]:
    """A stored message as the JSON API shows it."""
    out = dict(record)
    out["timestamp"] = _iso(record["timestamp"])
    raw = out.pop("raw", None)
    if raw is not None:
        out["raw_base64"] = raw
        try:
            out["raw"] = base64.b64decode(raw).decode("utf-8")
        except UnicodeDecodeError:
            out["raw"] = None
    return out


def _json(status: int, document: Any) -> Response:
    return status, list(_JSON), json.dumps(document).encode()


def _not_found(what: str) -> Response:
    return _json(404, {"error": f"{what} not found"})


class Inbox:
    """Serves ``/_inbox`` for one :class:`LocalService`."""

    def __init__(self, service: LocalService) -> None:
        self.service = service

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        method = request.method
        parts = [unquote(p) for p in path.split("/")[2:]]  # after "", "_inbox"
        if parts[:1] == ["api"]:
            return self._api(method, parts[1:], request.query)
        if method not in ("GET", "HEAD"):
            return 405, [("Allow", "GET, HEAD"), ("Content-Type", "text/plain")], b"GET only\n"
        if not parts:
            return 200, list(_PAGE), self._list_page().encode()
        if len(parts) == 2 and parts[0] == "messages":
            record = self.service.store.get_message(parts[1])
            if record is None:
                return 404, list(_PAGE), _page("Not found", "<p>No such message.</p>").encode()
            return 200, list(_PAGE), self._message_page(record).encode()
        return 404, list(_PAGE), _page("Not found", "<p>No such page.</p>").encode()

    # -- JSON ----------------------------------------------------------------

    def _api(self, method: str, parts: list[str], query: str) -> Response:
        store = self.service.store
        if parts == ["messages"]:
            if method == "DELETE":
                return _json(200, {"deleted": store.clear_messages()})
            if method != "GET":
                return _json(405, {"error": "use GET or DELETE"})
            return _json(200, {"messages": self.messages(dict(parse_qsl(query)))})
        if method != "GET":
            return _json(405, {"error": "use GET"})
        if len(parts) == 2 and parts[0] == "messages":
            record = store.get_message(parts[1])
            return _json(200, public_record(record)) if record else _not_found("message")
        if len(parts) == 4 and parts[0] == "messages" and parts[2] == "attachments":
            return self._attachment(parts[1], parts[3])
        if parts == ["stats"]:
            return _json(200, self.stats())
        return _not_found("API path")

    def messages(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        """Stored messages, oldest first, narrowed by ``to``/``from``/``subject``/``limit``."""
        records = self.service.store.list_messages()
        to = bare_address(filters["to"]) if filters.get("to") else None
        sender = bare_address(filters["from"]) if filters.get("from") else None
        subject = filters.get("subject")
        selected = []
        for record in records:
            if to is not None:
                recipients = (
                    record["to"] + record["cc"] + record["bcc"] + record.get("destinations", [])
                )
                if to not in {bare_address(r) for r in recipients}:
                    continue
            if sender is not None and bare_address(record["from"]) != sender:
                continue
            if subject is not None and subject not in (record.get("subject") or ""):
                continue
            selected.append(record)
        limit = filters.get("limit")
        if limit and limit.isdigit():
            selected = selected[-int(limit) :] if int(limit) else []
        return [public_record(record) for record in selected]

    def stats(self) -> dict[str, Any]:
        counters = self.service.store.counters()
        faults = {
            name[len("faults.") :]: value
            for name, value in counters.items()
            if name.startswith("faults.")
        }
        for name in ("reset_before", "throttle", "internal_error", "service_unavailable"):
            faults.setdefault(name, 0)
        faults.setdefault("reset_after", 0)
        return {
            "accepted": counters.get("accepted", 0),
            "rejected": counters.get("rejected", 0),
            "throttled": counters.get("throttled", 0),
            "quota_exceeded": counters.get("quota_exceeded", 0),
            "duplicates": counters.get("duplicates", 0),
            "rendering_failures": counters.get("rendering_failures", 0),
            "faults": faults,
            "stored": len(self.service.store.list_messages()),
            "sent_last_24_hours": self.service.limiter.sent_last_24_hours(),
        }

    def _attachment(self, message_id: str, index_text: str) -> Response:
        record = self.service.store.get_message(message_id)
        if record is None or not index_text.isdigit():
            return _not_found("attachment")
        index = int(index_text)
        data = self.service.store.get_attachment(message_id, index)
        if data is None or index >= len(record["attachments"]):
            return _not_found("attachment")
        meta = record["attachments"][index]
        name = meta["name"] or f"attachment-{index}"
        content_type = meta["type"] or "application/octet-stream"
        if any(ch in content_type for ch in "\r\n"):
            content_type = "application/octet-stream"
        return (
            200,
            [
                ("Content-Type", content_type),
                ("Content-Disposition", f"attachment; filename*=UTF-8''{quote(name, safe='')}"),
                ("Content-Security-Policy", _DOWNLOAD_CSP),
                ("X-Content-Type-Options", "nosniff"),
            ],
            data,
        )

    # -- HTML ------------------------------------------------------------------

    def _list_page(self) -> str:
        records = self.service.store.list_messages()
        stats = self.stats()
        rows = []
        for record in reversed(records):
            link = f"/_inbox/messages/{quote(record['message_id'], safe='')}"
            recipients = ", ".join(record["to"] + record["cc"] + record["bcc"])
            flags = []
            if record.get("attachments"):
                flags.append(f"{len(record['attachments'])} attachment(s)")
            if record.get("rendering_failure"):
                flags.append("rendering failure")
            if record.get("duplicate_recipients"):
                flags.append("duplicate")
            subject = record.get("subject") or "(no subject)"
            rows.append(
                "<tr>"
                f"<td>{escape(_iso(record['timestamp']))}</td>"
                f"<td>{escape(record['from'])}</td>"
                f"<td>{escape(recipients)}</td>"
                f'<td><a href="{escape(link)}">{escape(subject)}</a></td>'
                f"<td>{escape(record['api'])} {escape(record['operation'])}</td>"
                f"<td>{escape(', '.join(flags))}</td>"
                "</tr>"
            )
        table = (
            "<table><thead><tr><th>Time (UTC)</th><th>From</th><th>To</th><th>Subject</th>"
            "<th>API</th><th>Notes</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
            if rows
            else "<p>No messages yet.</p>"
        )
        summary = (
            f"<p class=stats>{len(records)} stored &middot; accepted {stats['accepted']} &middot; "
            f"rejected {stats['rejected']} &middot; throttled {stats['throttled']} &middot; "
            f"duplicates {stats['duplicates']}</p>"
        )
        return _page("Local SES inbox", summary + table)

    def _message_page(self, record: dict[str, Any]) -> str:
        message_id = record["message_id"]
        fields = [
            ("Message ID", message_id),
            ("Time (UTC)", _iso(record["timestamp"])),
            ("API", f"{record['api']} {record['operation']}"),
            ("From", record["from"]),
            ("To", ", ".join(record["to"])),
            ("Cc", ", ".join(record["cc"])),
            ("Bcc", ", ".join(record["bcc"])),
            ("Reply-To", ", ".join(record.get("reply_to") or [])),
            ("Subject", record.get("subject") or ""),
        ]
        if record.get("destinations"):
            fields.append(("Envelope recipients", ", ".join(record["destinations"])))
        if record.get("template"):
            fields.append(("Template", record["template"]))
            fields.append(("Template data", record.get("template_data") or ""))
        if record.get("rendering_failure"):
            fields.append(("Rendering failure", record["rendering_failure"]))
        if record.get("suppressed"):
            fields.append(("Suppressed recipients", ", ".join(record["suppressed"])))
        if record.get("configuration_set"):
            fields.append(("Configuration set", record["configuration_set"]))
        rows = "".join(
            f"<tr><th>{escape(name)}</th><td>{escape(value)}</td></tr>"
            for name, value in fields
            if value
        )
        sections = [f"<table class=fields>{rows}</table>"]
        if record.get("html") is not None:
            # srcdoc keeps the HTML out of this document; sandbox="" gives it an
            # opaque origin with scripts, forms, popups and navigation all off.
            sections.append(
                "<h2>HTML</h2>"
                f'<iframe class=html sandbox="" referrerpolicy="no-referrer" '
                f'title="HTML body" srcdoc="{escape(record["html"], quote=True)}"></iframe>'
            )
        if record.get("text") is not None:
            sections.append(f"<h2>Text</h2><pre>{escape(record['text'])}</pre>")
        if record.get("attachments"):
            items = []
            for index, meta in enumerate(record["attachments"]):
                link = f"/_inbox/api/messages/{quote(message_id, safe='')}/attachments/{index}"
                items.append(
                    f'<li><a href="{escape(link)}" download>'
                    f"{escape(meta['name'] or f'attachment-{index}')}</a> "
                    f"({escape(meta['type'])}, {meta['size']} bytes)</li>"
                )
            sections.append(f"<h2>Attachments</h2><ul>{''.join(items)}</ul>")
        if record.get("headers"):
            header_rows = "".join(
                f"<tr><th>{escape(h['name'])}</th><td>{escape(h['value'])}</td></tr>"
                for h in record["headers"]
            )
            sections.append(f"<h2>Headers</h2><table class=fields>{header_rows}</table>")
        if record.get("raw") is not None:
            try:
                raw_text = base64.b64decode(record["raw"]).decode("utf-8", "replace")
            except ValueError:
                raw_text = ""
            sections.append(
                f"<details><summary>Raw message</summary><pre>{escape(raw_text)}</pre></details>"
            )
        back = '<p><a href="/_inbox">&larr; All messages</a></p>'
        return _page(record.get("subject") or "(no subject)", back + "".join(sections))


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #ddd;vertical-align:top}
table.fields th{width:12em;color:#555;font-weight:600}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.8em;border:1px solid #ddd}
iframe.html{width:100%;height:28em;border:1px solid #bbb;background:#fff}
.stats{color:#555}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
