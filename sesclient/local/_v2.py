"""SES v2 (REST-JSON API) operations of the local endpoint.

Each handler takes the boto3-shaped parameters that
:func:`sesclient._restjson.decode_restjson_request` produced (URI labels and
query parameters included) and returns the boto3-shaped result that
:func:`sesclient._restjson.encode_restjson_response` serialises.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypedDict

from ._faults import SESFault
from ._pages import paginate
from ._service import (
    LocalService,
    Outgoing,
    bare_address,
    merge_template_data,
    rendered_mime,
)

__all__ = ["OPERATIONS"]

Params = dict[str, Any]
Result = dict[str, Any]

# Bulk entry outcome: fault kind -> BulkEmailStatus.
_BULK_STATUS = {
    "MessageRejected": "MESSAGE_REJECTED",
    "InvalidParameter": "INVALID_PARAMETER",
    "Throttled": "ACCOUNT_THROTTLED",
    "DailyQuota": "ACCOUNT_DAILY_QUOTA_EXCEEDED",
    "TemplateNotFound": "TEMPLATE_NOT_FOUND",
}


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def _destination(destination: dict[str, Any] | None) -> tuple[list[str], list[str], list[str]]:
    destination = destination or {}
    return (
        list(destination.get("ToAddresses") or ()),
        list(destination.get("CcAddresses") or ()),
        list(destination.get("BccAddresses") or ()),
    )


def _attachments(items: list[dict[str, Any]] | None) -> list[tuple[str, str, bytes]]:
    result = []
    for item in items or ():
        content = item["RawContent"]
        if isinstance(content, str):
            content = content.encode("utf-8")
        result.append(
            (item["FileName"], item.get("ContentType") or "application/octet-stream", content)
        )
    return result


def _headers(items: list[dict[str, str]] | None) -> list[tuple[str, str]]:
    return [(item["Name"], item["Value"]) for item in items or ()]


def _template_name(template: dict[str, Any]) -> str | None:
    name = template.get("TemplateName")
    if name is None and template.get("TemplateArn"):
        # arn:aws:ses:region:account:template/NAME
        name = template["TemplateArn"].rpartition("/")[2]
    return name


def _resolve_template(service: LocalService, template: dict[str, Any]) -> dict[str, Any]:
    name = _template_name(template)
    if name:
        return service.get_template(name)
    content = template.get("TemplateContent")
    if content:
        return {
            "name": None,
            "subject": content.get("Subject"),
            "text": content.get("Text"),
            "html": content.get("Html"),
        }
    raise SESFault(
        "InvalidParameter", "Template requires a TemplateName, TemplateArn or TemplateContent."
    )


def _sender(params: Params) -> str:
    sender = params.get("FromEmailAddress")
    if not sender:
        raise SESFault("InvalidParameter", "Missing required parameter FromEmailAddress.")
    return sender


class _Common(TypedDict):
    """The fields every v2 ``SendEmail`` content kind shares, as :class:`Outgoing` takes them."""

    reply_to: list[str]
    tags: list[dict[str, str]]
    configuration_set: str | None


def send_email(service: LocalService, params: Params) -> Result:
    content = params["Content"]
    to, cc, bcc = _destination(params.get("Destination"))
    common: _Common = {
        "reply_to": list(params.get("ReplyToAddresses") or ()),
        "tags": list(params.get("EmailTags") or ()),
        "configuration_set": params.get("ConfigurationSetName"),
    }
    kinds = [key for key in ("Simple", "Raw", "Template") if content.get(key)]
    if len(kinds) != 1:
        raise SESFault(
            "InvalidParameter", "Content must hold exactly one of Simple, Raw, Template."
        )
    if "Raw" in kinds:
        raw = content["Raw"]["Data"]
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        recipients = to + cc + bcc
        outgoing = service.raw_message(
            "v2",
            "SendEmail",
            raw,
            sender=params.get("FromEmailAddress"),
            destinations=recipients or None,
        )
        outgoing.tags = common["tags"]
        outgoing.configuration_set = common["configuration_set"]
    elif "Simple" in kinds:
        simple = content["Simple"]
        body = simple.get("Body") or {}
        outgoing = Outgoing(
            "v2",
            "SendEmail",
            _sender(params),
            to=to,
            cc=cc,
            bcc=bcc,
            subject=(simple.get("Subject") or {}).get("Data"),
            text=(body.get("Text") or {}).get("Data"),
            html=(body.get("Html") or {}).get("Data"),
            attachments=_attachments(simple.get("Attachments")),
            headers=_headers(simple.get("Headers")),
            **common,
        )
    else:
        template_params = content["Template"]
        template = _resolve_template(service, template_params)
        data = template_params.get("TemplateData") or "{}"
        subject, text, html, failure = service.render_template(template, data, strict=False)
        outgoing = Outgoing(
            "v2",
            "SendEmail",
            _sender(params),
            to=to,
            cc=cc,
            bcc=bcc,
            subject=subject,
            text=text,
            html=html,
            attachments=_attachments(template_params.get("Attachments")),
            headers=_headers(template_params.get("Headers")),
            template=template["name"] or "(inline)",
            template_data=data,
            rendering_failure=failure,
            **common,
        )
    return {"MessageId": service.send(outgoing)}


def send_bulk_email(service: LocalService, params: Params) -> Result:
    entries = params["BulkEmailEntries"]
    if len(entries) > 50:
        raise SESFault("InvalidParameter", "The number of bulk email entries exceeds 50.")
    default = (params.get("DefaultContent") or {}).get("Template")
    if not default:
        raise SESFault("InvalidParameter", "DefaultContent.Template is required.")
    sender = _sender(params)
    template = _resolve_template(service, default)
    service.check_sender(sender)
    default_data = default.get("TemplateData") or "{}"
    default_tags = list(params.get("DefaultEmailTags") or ())
    attachments = _attachments(default.get("Attachments"))
    default_headers = _headers(default.get("Headers"))
    results = []
    # (None, message id) after a send, (fault kind, reason) after a refusal.
    kind: str | None
    for entry in entries:
        replacement = (entry.get("ReplacementEmailContent") or {}).get("ReplacementTemplate") or {}
        to, cc, bcc = _destination(entry.get("Destination"))
        try:
            data = merge_template_data(default_data, replacement.get("ReplacementTemplateData"))
            subject, text, html, failure = service.render_template(template, data, strict=False)
        except SESFault as fault:
            kind, outcome = fault.kind, fault.message
        else:
            outgoing = Outgoing(
                "v2",
                "SendBulkEmail",
                sender,
                to=to,
                cc=cc,
                bcc=bcc,
                reply_to=list(params.get("ReplyToAddresses") or ()),
                subject=subject,
                text=text,
                html=html,
                attachments=attachments,
                headers=default_headers + _headers(entry.get("ReplacementHeaders")),
                template=template["name"] or "(inline)",
                template_data=data,
                rendering_failure=failure,
                tags=list(entry.get("ReplacementTags") or default_tags),
                configuration_set=params.get("ConfigurationSetName"),
            )
            kind, outcome = service.send_entry(outgoing)
        if kind is None:
            results.append({"Status": "SUCCESS", "MessageId": outcome})
        else:
            results.append({"Status": _BULK_STATUS.get(kind, "FAILED"), "Error": outcome})
    return {"BulkEmailEntryResults": results}


def get_account(service: LocalService, params: Params) -> Result:
    sandbox = service.config.sandbox
    return {
        "DedicatedIpAutoWarmupEnabled": False,
        "EnforcementStatus": "HEALTHY",
        "ProductionAccessEnabled": not sandbox,
        "SendQuota": service.limiter.quota(),
        "SendingEnabled": True,
        "SuppressionAttributes": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
    }


def _identity_type(record: dict[str, Any]) -> str:
    return "EMAIL_ADDRESS" if record["type"] == "EmailAddress" else "DOMAIN"


def _dkim(record: dict[str, Any]) -> dict[str, Any]:
    if record["type"] == "EmailAddress":
        return {"SigningEnabled": False, "Status": "NOT_STARTED"}
    return {
        "SigningEnabled": True,
        "Status": "SUCCESS",
        "Tokens": [f"local{index}{record['token'][:20].lower()}" for index in range(3)],
        "SigningAttributesOrigin": "AWS_SES",
    }


def _find_identity(service: LocalService, name: str) -> dict[str, Any]:
    record = service.store.get_identity(name)
    if record is None:
        raise SESFault("NotFound", f"Email identity {name} does not exist.")
    return record


def create_email_identity(service: LocalService, params: Params) -> Result:
    name = params["EmailIdentity"]
    if service.store.get_identity(name) is not None:
        raise SESFault("AlreadyExists", f"Email identity {name} already exist.")
    record = service.create_identity(name, tags=list(params.get("Tags") or ()))
    return {
        "IdentityType": _identity_type(record),
        "VerifiedForSendingStatus": True,
        "DkimAttributes": _dkim(record),
    }


def get_email_identity(service: LocalService, params: Params) -> Result:
    record = _find_identity(service, params["EmailIdentity"])
    return {
        "IdentityType": _identity_type(record),
        "FeedbackForwardingStatus": True,
        "VerifiedForSendingStatus": True,
        "VerificationStatus": "SUCCESS",
        "DkimAttributes": _dkim(record),
        "Policies": {},
        "Tags": record.get("tags") or [],
    }


def list_email_identities(service: LocalService, params: Params) -> Result:
    summaries = [
        {
            "IdentityType": _identity_type(record),
            "IdentityName": record["name"],
            "SendingEnabled": True,
            "VerificationStatus": "SUCCESS",
        }
        for record in service.store.list_identities()
    ]
    page, token = paginate(summaries, params.get("NextToken"), params.get("PageSize"), default=100)
    result: Result = {"EmailIdentities": page}
    if token:
        result["NextToken"] = token
    return result


def delete_email_identity(service: LocalService, params: Params) -> Result:
    name = params["EmailIdentity"]
    if not service.store.delete_identity(name):
        raise SESFault("NotFound", f"Email identity {name} does not exist.")
    return {}


def _template_content(params: Params) -> dict[str, Any]:
    content = params.get("TemplateContent") or {}
    return {
        "subject": content.get("Subject"),
        "text": content.get("Text"),
        "html": content.get("Html"),
    }


def create_email_template(service: LocalService, params: Params) -> Result:
    service.put_template(
        params["TemplateName"],
        create=True,
        tags=list(params.get("Tags") or ()),
        **_template_content(params),
    )
    return {}


def update_email_template(service: LocalService, params: Params) -> Result:
    service.put_template(params["TemplateName"], create=False, **_template_content(params))
    return {}


def get_email_template(service: LocalService, params: Params) -> Result:
    record = service.get_template(params["TemplateName"])
    content = {}
    for key, member in (("subject", "Subject"), ("text", "Text"), ("html", "Html")):
        if record.get(key) is not None:
            content[member] = record[key]
    result: Result = {"TemplateName": record["name"], "TemplateContent": content}
    if record.get("tags"):
        result["Tags"] = record["tags"]
    return result


def delete_email_template(service: LocalService, params: Params) -> Result:
    name = params["TemplateName"]
    if not service.store.delete_template(name):
        raise SESFault("TemplateNotFound", f"Template {name} does not exist.")
    return {}


def list_email_templates(service: LocalService, params: Params) -> Result:
    metadata = [
        {"TemplateName": record["name"], "CreatedTimestamp": _utc(record["created"])}
        for record in service.store.list_templates()
    ]
    page, token = paginate(metadata, params.get("NextToken"), params.get("PageSize"), default=10)
    result: Result = {"TemplatesMetadata": page}
    if token:
        result["NextToken"] = token
    return result


def test_render_email_template(service: LocalService, params: Params) -> Result:
    template = service.get_template(params["TemplateName"])
    subject, text, html, _ = service.render_template(template, params["TemplateData"], strict=True)
    return {"RenderedTemplate": rendered_mime(subject, text, html)}


def put_suppressed_destination(service: LocalService, params: Params) -> Result:
    address = params["EmailAddress"]
    if "@" not in address:
        raise SESFault("InvalidParameter", f"Invalid email address <{address}>.")
    service.store.put_suppressed(
        {"address": bare_address(address), "reason": params["Reason"], "updated": time.time()}
    )
    return {}


def _suppressed_summary(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "EmailAddress": entry["address"],
        "Reason": entry["reason"],
        "LastUpdateTime": _utc(entry["updated"]),
    }


def get_suppressed_destination(service: LocalService, params: Params) -> Result:
    address = params["EmailAddress"]
    entry = service.store.get_suppressed(bare_address(address))
    if entry is None:
        raise SESFault(
            "NotFound", f"Email address {address} does not exist on your suppression list."
        )
    return {"SuppressedDestination": {**_suppressed_summary(entry), "Attributes": {}}}


def delete_suppressed_destination(service: LocalService, params: Params) -> Result:
    address = params["EmailAddress"]
    if not service.store.delete_suppressed(bare_address(address)):
        raise SESFault(
            "NotFound", f"Email address {address} does not exist on your suppression list."
        )
    return {}


def list_suppressed_destinations(service: LocalService, params: Params) -> Result:
    reasons = set(params.get("Reasons") or ())
    start = params.get("StartDate")
    end = params.get("EndDate")
    summaries = []
    for entry in service.store.list_suppressed():
        if reasons and entry["reason"] not in reasons:
            continue
        summary = _suppressed_summary(entry)
        if start is not None and summary["LastUpdateTime"] < start:
            continue
        if end is not None and summary["LastUpdateTime"] > end:
            continue
        summaries.append(summary)
    page, token = paginate(
        summaries,
        params.get("NextToken"),
        params.get("PageSize"),
        default=1000,
        invalid_kind="InvalidNextToken",
    )
    result: Result = {"SuppressedDestinationSummaries": page}
    if token:
        result["NextToken"] = token
    return result


OPERATIONS: dict[str, Callable[[LocalService, Params], Result]] = {
    "SendEmail": send_email,
    "SendBulkEmail": send_bulk_email,
    "GetAccount": get_account,
    "CreateEmailIdentity": create_email_identity,
    "GetEmailIdentity": get_email_identity,
    "ListEmailIdentities": list_email_identities,
    "DeleteEmailIdentity": delete_email_identity,
    "CreateEmailTemplate": create_email_template,
    "GetEmailTemplate": get_email_template,
    "UpdateEmailTemplate": update_email_template,
    "DeleteEmailTemplate": delete_email_template,
    "ListEmailTemplates": list_email_templates,
    "TestRenderEmailTemplate": test_render_email_template,
    "PutSuppressedDestination": put_suppressed_destination,
    "GetSuppressedDestination": get_suppressed_destination,
    "DeleteSuppressedDestination": delete_suppressed_destination,
    "ListSuppressedDestinations": list_suppressed_destinations,
}
