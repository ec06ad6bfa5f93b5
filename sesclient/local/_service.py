"""The SES account the local endpoint pretends to be: identities, templates, the
suppression list, and the rules a message must pass to be accepted.

Both API front ends (:mod:`._v1`, :mod:`._v2`) translate their parameters into
:class:`Outgoing` messages and calls on :class:`LocalService`; refusals are
:class:`~._faults.SESFault` kinds that each front end names its own way.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .._message import MAX_MESSAGE_SIZE_V1, MAX_MESSAGE_SIZE_V2, MAX_RECIPIENTS
from ._config import LocalSESConfig
from ._faults import SESFault
from ._limits import SendLimiter
from ._store import Record, Store

__all__ = [
    "LocalService",
    "Outgoing",
    "bare_address",
]


def bare_address(address: str) -> str:
    """``user@example.com`` out of ``Name <user@example.com>``, lower-cased."""
    if "<" in address:
        start = address.rfind("<") + 1
        end = address.find(">", start)
        address = address[start : end if end >= 0 else None]
    return address.strip().lower()


@dataclass(slots=True)
class Outgoing:
    """One message as either API described it, before the account's rules are applied."""

    api: str
    operation: str
    sender: str
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    #: (file name, content type, content)
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    raw: bytes | None = None
    #: Envelope recipients when they differ from the headers (raw sends).
    destinations: list[str] | None = None
    template: str | None = None
    template_data: str | None = None
    rendering_failure: str | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    configuration_set: str | None = None

    def recipients(self) -> list[str]:
        if self.destinations is not None:
            return self.destinations
        return self.to + self.cc + self.bcc

    def size(self, limit: int) -> int:
        """The message's size in bytes, exact once it may exceed ``limit``."""
        if self.raw is not None:
            return len(self.raw)
        subject, text, html = self.subject, self.text, self.html
        chars = (len(subject) if subject else 0) + (len(text) if text else 0)
        if html:
            chars += len(html)
        # Attachments travel base64-encoded inside the MIME message.
        total = (
            sum((len(data) + 2) // 3 * 4 for _, _, data in self.attachments)
            if self.attachments
            else 0
        )
        # A code point takes at most 4 bytes of UTF-8: skip encoding small messages.
        if total + 4 * chars <= limit:
            return total + chars
        parts = [part for part in (subject, text, html) if part]
        return total + sum(len(part.encode("utf-8", "surrogatepass")) for part in parts)


class LocalService:
    """The account state and the send rules of one endpoint process."""

    def __init__(self, config: LocalSESConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.limiter = SendLimiter(
            max_send_rate=config.max_send_rate, max_24h_send=config.max_24h_send
        )
        self._region_upper = config.region.upper()
        self._ids = itertools.count(1)
        # Real message ids are <16 hex ms>-<uuid>-000000; a per-process random
        # uuid prefix plus a counter keeps them unique across workers and cheap.
        self._id_prefix = str(uuid.uuid4())[:24]
        now = time.time()
        for name in config.verified_identities:
            if self.store.get_identity(name) is None:
                self.store.put_identity(_identity_record(name, now))

    # -- ids ----------------------------------------------------------------

    def new_message_id(self, now: float | None = None) -> str:
        """A fresh message id for a message accepted at ``now`` (Unix time, default now)."""
        if now is None:
            now = time.time()
        return f"{int(now * 1000):016x}-{self._id_prefix}{next(self._ids):012x}-000000"

    # -- identities ---------------------------------------------------------

    def is_verified(self, address: str) -> bool:
        store = self.store
        if store.get_identity(address) is not None:
            return True
        _, at, domain = address.rpartition("@")
        return bool(at) and store.get_identity(domain) is not None

    def create_identity(self, name: str, *, tags: list[dict[str, str]] | None = None) -> Record:
        """Create ``name`` (verified at once: there is no DNS or inbox to check locally)."""
        check_identity_name(name)
        record = _identity_record(name, time.time(), tags=tags)
        self.store.put_identity(record)
        return record

    def ensure_identity(self, name: str) -> Record:
        record = self.store.get_identity(name)
        return record if record is not None else self.create_identity(name)

    # -- templates ----------------------------------------------------------

    def put_template(
        self,
        name: str,
        *,
        subject: str | None,
        text: str | None,
        html: str | None,
        tags: list[dict[str, str]] | None = None,
        create: bool,
    ) -> None:
        """Create (``create=True``, must not exist) or replace (must exist) a template."""
        check_template_name(name)
        existing = self.store.get_template(name)
        if create and existing is not None:
            raise SESFault("AlreadyExists", f"Template {name} already exists.")
        if not create and existing is None:
            raise SESFault("TemplateNotFound", f"Template {name} does not exist.")
        from ._handlebars import TemplateSyntaxError, compile_template

        for part_name, part in (("subject", subject), ("text", text), ("html", html)):
            if part:
                try:
                    compile_template(part)
                except TemplateSyntaxError as exc:
                    raise SESFault(
                        "InvalidTemplate", f"Template {name} has an invalid {part_name} part: {exc}"
                    ) from None
        record = {
            "name": name,
            "subject": subject,
            "text": text,
            "html": html,
            "created": existing["created"] if existing else time.time(),
            "tags": tags if tags is not None else (existing or {}).get("tags", []),
        }
        self.store.put_template(record)

    def get_template(self, name: str) -> Record:
        record = self.store.get_template(name)
        if record is None:
            raise SESFault("TemplateNotFound", f"Template {name} does not exist.")
        return record

    def render_template(
        self, template: Record, data_text: str, *, strict: bool
    ) -> tuple[str | None, str | None, str | None, str | None]:
        """``(subject, text, html, failure)`` of a template applied to JSON data.

        ``strict`` raises MissingRenderingAttribute for a variable absent from
        the data (TestRenderTemplate); otherwise, as SES does for a send that it
        already accepted, the failure is returned and the parts render it empty.
        """
        from ._handlebars import MissingVariable, TemplateSyntaxError, render

        data = parse_template_data(data_text)
        failure = None
        parts: list[str | None] = []
        # SES HTML-escapes {{var}} output in every part, subject and text included.
        for key in ("subject", "text", "html"):
            source = template.get(key)
            if not source:
                parts.append(None)
                continue
            try:
                parts.append(render(source, data, escape_html=True, missing="error"))
            except MissingVariable as exc:
                if strict:
                    raise SESFault("MissingRenderingAttribute", _missing_message(exc)) from None
                failure = failure or _missing_message(exc)
                parts.append(render(source, data, escape_html=True, missing="empty"))
            except TemplateSyntaxError as exc:
                if strict:
                    raise SESFault("InvalidRenderingParameter", str(exc)) from None
                failure = failure or str(exc)
                parts.append(None)
        return parts[0], parts[1], parts[2], failure

    # -- sending ------------------------------------------------------------

    def send(self, message: Outgoing) -> str:
        """Apply the account's rules to ``message`` and store it; its message id."""
        recipients = message.recipients()
        self.check_message(message, recipients)
        refusal = self.limiter.check(len(recipients))
        if refusal is not None:
            self.refuse_limit(refusal)
        return self.accept(message, recipients)

    def send_entry(self, message: Outgoing) -> tuple[str | None, str]:
        """One entry of a bulk send: ``(None, message_id)`` or ``(fault kind, reason)``."""
        try:
            return None, self.send(message)
        except SESFault as fault:
            return fault.kind, fault.message

    def check_sender(self, sender: str) -> None:
        """Refuse the whole request when the sender is not a verified identity."""
        if self.config.verify_senders:
            address = bare_address(sender)
            if not self.is_verified(address):
                self.store.incr("rejected")
                self.limiter.count_reject()
                raise SESFault(
                    "MessageRejected",
                    "Email address is not verified. The following identities failed the check "
                    f"in region {self._region_upper}: {address}",
                )

    def raw_message(
        self,
        api: str,
        operation: str,
        raw: bytes,
        *,
        sender: str | None,
        destinations: list[str] | None,
    ) -> Outgoing:
        """An :class:`Outgoing` for a ready-made MIME message, parsed for the inbox."""
        from ._mime import parse_message

        try:
            parsed = parse_message(raw)
        except (ValueError, TypeError) as exc:
            raise SESFault("InvalidParameter", f"Could not parse the raw message: {exc}") from None
        sender = sender or parsed.from_
        if not sender:
            raise SESFault("InvalidParameter", "Missing required header 'From'.")
        return Outgoing(
            api,
            operation,
            sender,
            to=list(parsed.to),
            cc=list(parsed.cc),
            bcc=list(parsed.bcc),
            subject=parsed.subject,
            text=parsed.text,
            html=parsed.html,
            reply_to=list(parsed.reply_to),
            attachments=[(a.filename, a.content_type, a.content) for a in parsed.attachments],
            headers=list(parsed.header_list),
            raw=raw,
            destinations=list(destinations) if destinations else None,
        )

    def check_message(self, message: Outgoing, recipients: list[str]) -> None:
        """The rules that come before the sending limits: recipients, identities, size."""
        count = len(recipients)
        if count == 0:
            self.reject_invalid("No recipients specified.")
        if count > MAX_RECIPIENTS:
            self.reject_invalid(f"Recipient count exceeds {MAX_RECIPIENTS}.")
        config = self.config
        if config.verify_senders or config.sandbox:
            unverified: list[str] = []
            if config.verify_senders:
                sender = bare_address(message.sender)
                if not self.is_verified(sender):
                    unverified.append(sender)
            if config.sandbox:
                for recipient in recipients:
                    address = bare_address(recipient)
                    if not self.is_verified(address):
                        unverified.append(address)
            if unverified:
                self.store.incr("rejected")
                self.limiter.count_reject()
                raise SESFault(
                    "MessageRejected",
                    "Email address is not verified. The following identities failed the check "
                    f"in region {self._region_upper}: {', '.join(unverified)}",
                )
        limit = MAX_MESSAGE_SIZE_V1 if message.api == "v1" else MAX_MESSAGE_SIZE_V2
        size = message.size(limit)
        if size > limit:
            self.store.incr("rejected")
            self.limiter.count_reject()
            raise SESFault(
                "MessageRejected", f"Message length is more than {limit} bytes long: '{size}'."
            )

    def reject_invalid(self, text: str) -> None:
        self.store.incr("rejected")
        raise SESFault("InvalidParameter", text)

    def refuse_limit(self, refusal: str) -> None:
        if refusal == "DailyQuota":
            self.store.incr("quota_exceeded")
            raise SESFault("DailyQuota", "Daily message quota exceeded.")
        self.store.incr("throttled")
        raise SESFault("Throttled", "Maximum sending rate exceeded.")

    def accept(self, message: Outgoing, recipients: list[str]) -> str:
        """Store a message that passed every rule; its message id."""
        now = time.time()
        message_id = self.new_message_id(now)
        store = self.store
        # Duplicates: the same content to the same address (several workers
        # sharing a SQLite store count them across processes).
        digest = _content_digest(message)
        mark_seen = store.mark_seen
        duplicates = 0
        for recipient in recipients:
            if mark_seen(f"{digest}\0{bare_address(recipient)}"):
                duplicates += 1
        suppressed = None
        if store.has_suppressed():
            suppressed = [
                r for r in recipients if store.get_suppressed(bare_address(r)) is not None
            ] or None
        attachments = message.attachments
        headers = message.headers
        record: Record = {
            "message_id": message_id,
            "api": message.api,
            "operation": message.operation,
            "timestamp": now,
            "from": message.sender,
            "to": message.to,
            "cc": message.cc,
            "bcc": message.bcc,
            "reply_to": message.reply_to,
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "attachments": [
                {"name": name, "type": kind, "size": len(data)} for name, kind, data in attachments
            ]
            if attachments
            else [],
            "headers": [{"name": name, "value": value} for name, value in headers]
            if headers
            else [],
        }
        if message.destinations is not None:
            record["destinations"] = message.destinations
        if message.raw is not None:
            record["raw"] = base64.b64encode(message.raw).decode("ascii")
        if message.template is not None:
            record["template"] = message.template
            record["template_data"] = message.template_data
        if message.rendering_failure is not None:
            record["rendering_failure"] = message.rendering_failure
            store.incr("rendering_failures")
        if message.tags:
            record["tags"] = message.tags
        if message.configuration_set:
            record["configuration_set"] = message.configuration_set
        if suppressed:
            record["suppressed"] = suppressed
        if duplicates:
            record["duplicate_recipients"] = duplicates
            store.incr("duplicates", duplicates)
        store.add_message(record, [data for _, _, data in attachments] if attachments else [])
        store.incr("accepted")
        return message_id


def _identity_record(
    name: str, created: float, *, tags: list[dict[str, str]] | None = None
) -> Record:
    is_email = "@" in name
    token = None
    if not is_email:
        # A stable stand-in for the TXT record value SES would ask for.
        token = base64.b64encode(hashlib.sha256(name.lower().encode()).digest()).decode()[:44]
    return {
        "name": name,
        "type": "EmailAddress" if is_email else "Domain",
        "created": created,
        "token": token,
        "tags": tags or [],
    }


def check_identity_name(name: str) -> None:
    """Refuse names that are neither an address nor a domain."""
    local, at, domain = name.rpartition("@")
    if at and not local:
        raise SESFault("InvalidParameter", f"Invalid email address <{name}>.")
    labels = domain.split(".")
    if (
        len(labels) < 2
        or any(not label or len(label) > 63 for label in labels)
        or any(ch.isspace() or ch in '<>()[],;:\\"' for ch in name)
    ):
        what = "email address" if at else "domain"
        raise SESFault("InvalidParameter", f"Invalid {what} <{name}>.")


def check_template_name(name: str) -> None:
    if not name or len(name) > 64 or not all(ch.isalnum() or ch in "-_" for ch in name):
        raise SESFault(
            "InvalidParameter",
            f"Invalid template name {name!r}: use 1 to 64 letters, digits, '-' and '_'.",
        )


def parse_template_data(text: str | None) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        raise SESFault("InvalidRenderingParameter", "Template data is not valid JSON.") from None
    if not isinstance(data, dict):
        raise SESFault("InvalidRenderingParameter", "Template data must be a JSON object.")
    return data


def rendered_mime(subject: str | None, text: str | None, html: str | None) -> str:
    """The MIME message TestRenderTemplate shows for rendered template parts."""
    from email.message import EmailMessage
    from email.policy import SMTP
    from email.utils import formatdate

    message = EmailMessage(policy=SMTP)
    message["Date"] = formatdate(usegmt=True)
    message["Subject"] = subject or ""
    if text is not None:
        message.set_content(text, subtype="plain", charset="utf-8")
        if html is not None:
            message.add_alternative(html, subtype="html", charset="utf-8")
    else:
        message.set_content(html or "", subtype="html", charset="utf-8")
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]
    return message.as_string()


def merge_template_data(default: str, replacement: str | None) -> str:
    """Per-destination template data over the defaults, key by key."""
    if not replacement:
        return default
    merged = parse_template_data(default)
    merged.update(parse_template_data(replacement))
    return json.dumps(merged)


def _missing_message(exc: Exception) -> str:
    name = getattr(exc, "name", None) or getattr(exc, "variable", None)
    if name:
        return f"Attribute '{name}' is not present in the rendering data."
    return str(exc)


def _content_digest(message: Outgoing) -> str:
    text = (
        f"{bare_address(message.sender)}\0{message.subject or ''}\0{message.text or ''}\0"
        f"{message.html or ''}\0{message.template or ''}\0{message.template_data or ''}"
    )
    hasher = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16)
    if message.raw is not None:
        hasher.update(message.raw)
    for name, _, data in message.attachments:
        hasher.update(name.encode("utf-8", "surrogatepass"))
        hasher.update(data)
    return hasher.hexdigest()
