"""SES v1 (Query API) operations of the local endpoint.

Each handler takes the boto3-shaped parameters that
:func:`sesclient._query.decode_query_request` produced and returns the
boto3-shaped result that :func:`sesclient._query.encode_query_response`
serialises; the wire format is never touched here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from ._faults import SESFault
from ._pages import paginate
from ._service import LocalService, Outgoing, merge_template_data, rendered_mime

__all__ = ["OPERATIONS"]

Params = dict[str, Any]
Result = dict[str, Any]

# Bulk entry outcome: fault kind -> BulkEmailStatus.
_BULK_STATUS = {
    "MessageRejected": "MessageRejected",
    "InvalidParameter": "InvalidParameterValue",
    "Throttled": "AccountThrottled",
    "DailyQuota": "AccountDailyQuotaExceeded",
    "TemplateNotFound": "TemplateDoesNotExist",
}


def _destination(params: Params) -> tuple[list[str], list[str], list[str]]:
    destination = params.get("Destination") or {}
    return (
        list(destination.get("ToAddresses") or ()),
        list(destination.get("CcAddresses") or ()),
        list(destination.get("BccAddresses") or ()),
    )


def send_email(service: LocalService, params: Params) -> Result:
    to, cc, bcc = _destination(params)
    message = params["Message"]
    body = message.get("Body") or {}
    outgoing = Outgoing(
        "v1",
        "SendEmail",
        params["Source"],
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=list(params.get("ReplyToAddresses") or ()),
        subject=(message.get("Subject") or {}).get("Data"),
        text=(body.get("Text") or {}).get("Data"),
        html=(body.get("Html") or {}).get("Data"),
        tags=list(params.get("Tags") or ()),
        configuration_set=params.get("ConfigurationSetName"),
    )
    return {"MessageId": service.send(outgoing)}


def send_raw_email(service: LocalService, params: Params) -> Result:
    raw = params["RawMessage"]["Data"]
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    outgoing = service.raw_message(
        "v1",
        "SendRawEmail",
        raw,
        sender=params.get("Source"),
        destinations=params.get("Destinations"),
    )
    outgoing.tags = list(params.get("Tags") or ())
    outgoing.configuration_set = params.get("ConfigurationSetName")
    return {"MessageId": service.send(outgoing)}


def _templated(
    service: LocalService,
    operation: str,
    params: Params,
    template: dict[str, Any],
    data: str,
    to: list[str],
    cc: list[str],
    bcc: list[str],
    tags: list[dict[str, str]],
) -> Outgoing:
    # Real SES accepts the send and reports a missing variable later as a
    # rendering failure; the local endpoint does the same and notes it on the
    # stored message.
    subject, text, html, failure = service.render_template(template, data, strict=False)
    return Outgoing(
        "v1",
        operation,
        params["Source"],
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=list(params.get("ReplyToAddresses") or ()),
        subject=subject,
        text=text,
        html=html,
        template=template["name"],
        template_data=data,
        rendering_failure=failure,
        tags=tags,
        configuration_set=params.get("ConfigurationSetName"),
    )


def send_templated_email(service: LocalService, params: Params) -> Result:
    template = service.get_template(params["Template"])
    to, cc, bcc = _destination(params)
    outgoing = _templated(
        service,
        "SendTemplatedEmail",
        params,
        template,
        params["TemplateData"],
        to,
        cc,
        bcc,
        list(params.get("Tags") or ()),
    )
    return {"MessageId": service.send(outgoing)}


def send_bulk_templated_email(service: LocalService, params: Params) -> Result:
    destinations = params["Destinations"]
    if len(destinations) > 50:
        raise SESFault("InvalidParameter", "The number of destinations exceeds 50.")
    template = service.get_template(params["Template"])
    service.check_sender(params["Source"])
    default_data = params["DefaultTemplateData"]
    default_tags = list(params.get("DefaultTags") or ())
    statuses = []
    # (None, message id) after a send, (fault kind, reason) after a refusal.
    kind: str | None
    for entry in destinations:
        data = merge_template_data(default_data, entry.get("ReplacementTemplateData"))
        to, cc, bcc = _destination(entry)
        try:
            outgoing = _templated(
                service,
                "SendBulkTemplatedEmail",
                params,
                template,
                data,
                to,
                cc,
                bcc,
                list(entry.get("ReplacementTags") or default_tags),
            )
        except SESFault as fault:
            kind, outcome = fault.kind, fault.message
        else:
            kind, outcome = service.send_entry(outgoing)
        if kind is None:
            statuses.append({"Status": "Success", "MessageId": outcome})
        else:
            statuses.append({"Status": _BULK_STATUS.get(kind, "Failed"), "Error": outcome})
    return {"Status": statuses}


def get_send_quota(service: LocalService, params: Params) -> Result:
    return service.limiter.quota()


def get_send_statistics(service: LocalService, params: Params) -> Result:
    return {"SendDataPoints": service.limiter.data_points()}


def verify_email_identity(service: LocalService, params: Params) -> Result:
    address = params["EmailAddress"]
    if "@" not in address:
        raise SESFault("InvalidParameter", f"Invalid email address <{address}>.")
    service.ensure_identity(address)
    return {}


def verify_domain_identity(service: LocalService, params: Params) -> Result:
    domain = params["Domain"]
    if "@" in domain:
        raise SESFault("InvalidParameter", f"Invalid domain name <{domain}>.")
    return {"VerificationToken": service.ensure_identity(domain)["token"]}


def list_identities(service: LocalService, params: Params) -> Result:
    kind = params.get("IdentityType")
    names = [
        record["name"]
        for record in service.store.list_identities()
        if kind is None or record["type"] == kind
    ]
    page, token = paginate(names, params.get("NextToken"), params.get("MaxItems"), default=1000)
    result: Result = {"Identities": page}
    if token:
        result["NextToken"] = token
    return result


def get_identity_verification_attributes(service: LocalService, params: Params) -> Result:
    attributes = {}
    for name in params["Identities"]:
        record = service.store.get_identity(name)
        if record is not None:
            entry = {"VerificationStatus": "Success"}
            if record["token"]:
                entry["VerificationToken"] = record["token"]
            attributes[name] = entry
    return {"VerificationAttributes": attributes}


def delete_identity(service: LocalService, params: Params) -> Result:
    service.store.delete_identity(params["Identity"])
    return {}


def _template_parts(params: Params) -> tuple[str, dict[str, Any]]:
    template = params["Template"]
    return template["TemplateName"], {
        "subject": template.get("SubjectPart"),
        "text": template.get("TextPart"),
        "html": template.get("HtmlPart"),
    }


def create_template(service: LocalService, params: Params) -> Result:
    name, parts = _template_parts(params)
    service.put_template(name, create=True, **parts)
    return {}


def update_template(service: LocalService, params: Params) -> Result:
    name, parts = _template_parts(params)
    service.put_template(name, create=False, **parts)
    return {}


def get_template(service: LocalService, params: Params) -> Result:
    record = service.get_template(params["TemplateName"])
    template = {"TemplateName": record["name"]}
    for key, member in (("subject", "SubjectPart"), ("text", "TextPart"), ("html", "HtmlPart")):
        if record.get(key) is not None:
            template[member] = record[key]
    return {"Template": template}


def delete_template(service: LocalService, params: Params) -> Result:
    service.store.delete_template(params["TemplateName"])
    return {}


def list_templates(service: LocalService, params: Params) -> Result:
    metadata = [
        {
            "Name": record["name"],
            "CreatedTimestamp": datetime.fromtimestamp(record["created"], timezone.utc),
        }
        for record in service.store.list_templates()
    ]
    page, token = paginate(metadata, params.get("NextToken"), params.get("MaxItems"), default=100)
    result: Result = {"TemplatesMetadata": page}
    if token:
        result["NextToken"] = token
    return result


def test_render_template(service: LocalService, params: Params) -> Result:
    template = service.get_template(params["TemplateName"])
    subject, text, html, _ = service.render_template(template, params["TemplateData"], strict=True)
    return {"RenderedTemplate": rendered_mime(subject, text, html)}


OPERATIONS: dict[str, Callable[[LocalService, Params], Result]] = {
    "SendEmail": send_email,
    "SendRawEmail": send_raw_email,
    "SendTemplatedEmail": send_templated_email,
    "SendBulkTemplatedEmail": send_bulk_templated_email,
    "GetSendQuota": get_send_quota,
    "GetSendStatistics": get_send_statistics,
    "VerifyEmailIdentity": verify_email_identity,
    "VerifyEmailAddress": verify_email_identity,
    "VerifyDomainIdentity": verify_domain_identity,
    "ListIdentities": list_identities,
    "GetIdentityVerificationAttributes": get_identity_verification_attributes,
    "DeleteIdentity": delete_identity,
    "CreateTemplate": create_template,
    "GetTemplate": get_template,
    "UpdateTemplate": update_template,
    "DeleteTemplate": delete_template,
    "ListTemplates": list_templates,
    "TestRenderTemplate": test_render_template,
}
