"""The high-level message layer: address handling, validation and request building."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sesclient._addresses import (
    encode_words,
    normalize_address,
    parse_recipients,
    split_addresses,
    split_normalized,
)
from sesclient._errors import SESValidationError
from sesclient._message import (
    MAX_MESSAGE_SIZE_V1,
    MAX_MESSAGE_SIZE_V2,
    MAX_RECIPIENTS,
    Attachment,
    build_send,
    html_to_text,
)
from sesclient.local._mime import parse_message

SENDER = "sender@example.com"


def send(api: str = "v2", **kwargs):
    kwargs.setdefault("from_addr", SENDER)
    kwargs.setdefault("to", "rcpt@example.com")
    if "template" not in kwargs:
        kwargs.setdefault("subject", "Hello")
        if "html" not in kwargs:
            kwargs.setdefault("text", "Body")
    return build_send(api, **kwargs)


def rejects(field: str, api: str = "v2", **kwargs) -> SESValidationError:
    with pytest.raises(SESValidationError) as info:
        send(api, **kwargs)
    assert info.value.field == field, str(info.value)
    assert info.value.code == "ValidationError"
    assert str(info.value.message).startswith(field.split("[")[0])
    return info.value


# --- request shapes ------------------------------------------------------------


def test_v2_simple_text_shape():
    assert send("v2") == (
        "send_email",
        {
            "FromEmailAddress": SENDER,
            "Destination": {"ToAddresses": ["rcpt@example.com"]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": "Hello", "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": "Body", "Charset": "UTF-8"}},
                }
            },
        },
    )


def test_v2_full_shape_with_everything():
    operation, kwargs = send(
        "v2",
        to=["a@example.com", "b@example.com"],
        cc="c@example.com",
        bcc=["d@example.com"],
        reply_to="r@example.com",
        text="t",
        html="<p>h</p>",
        attachments=[Attachment("report.pdf", b"%PDF-1.4 \x00\xff")],
        headers={"X-Campaign": "spring", "List-Unsubscribe": "<https://u.example.com/x>"},
        configuration_set="tracking",
        tags={"campaign": "spring-2024", "kind": "promo_1"},
    )
    assert operation == "send_email"
    assert kwargs["Destination"] == {
        "ToAddresses": ["a@example.com", "b@example.com"],
        "CcAddresses": ["c@example.com"],
        "BccAddresses": ["d@example.com"],
    }
    assert kwargs["ReplyToAddresses"] == ["r@example.com"]
    assert kwargs["ConfigurationSetName"] == "tracking"
    assert kwargs["EmailTags"] == [
        {"Name": "campaign", "Value": "spring-2024"},
        {"Name": "kind", "Value": "promo_1"},
    ]
    simple = kwargs["Content"]["Simple"]
    assert simple["Body"] == {
        "Text": {"Data": "t", "Charset": "UTF-8"},
        "Html": {"Data": "<p>h</p>", "Charset": "UTF-8"},
    }
    assert simple["Headers"] == [
        {"Name": "X-Campaign", "Value": "spring"},
        {"Name": "List-Unsubscribe", "Value": "<https://u.example.com/x>"},
    ]
    assert simple["Attachments"] == [
        {
            "RawContent": b"%PDF-1.4 \x00\xff",
            "FileName": "report.pdf",
            "ContentType": "application/pdf",
            "ContentDisposition": "ATTACHMENT",
            "ContentTransferEncoding": "BASE64",
        }
    ]


def test_v2_inline_attachment_has_content_id():
    _, kwargs = send(
        "v2",
        html='<img src="cid:logo">',
        attachments=[Attachment("logo.png", b"\x89PNG", inline=True, content_id="<logo>")],
    )
    (attachment,) = kwargs["Content"]["Simple"]["Attachments"]
    assert attachment["ContentDisposition"] == "INLINE"
    assert attachment["ContentId"] == "logo"
    assert attachment["ContentType"] == "image/png"


def test_v2_template_shape():
    operation, kwargs = build_send(
        "v2",
        from_addr=SENDER,
        to="rcpt@example.com",
        template="welcome",
        template_data={"name": "Zoë", "n": 3},
        headers=[("X-Tag", "a")],
        configuration_set="cs",
    )
    assert operation == "send_email"
    assert kwargs["Content"] == {
        "Template": {
            "TemplateName": "welcome",
            "TemplateData": '{"name":"Zoë","n":3}',
            "Headers": [{"Name": "X-Tag", "Value": "a"}],
        }
    }
    assert kwargs["ConfigurationSetName"] == "cs"


def test_v1_simple_shape():
    assert send("v1", html="<b>x</b>", reply_to="r@example.com", tags={"a": "b"}) == (
        "send_email",
        {
            "Source": SENDER,
            "Destination": {"ToAddresses": ["rcpt@example.com"]},
            "Message": {
                "Subject": {"Data": "Hello", "Charset": "UTF-8"},
                "Body": {"Html": {"Data": "<b>x</b>", "Charset": "UTF-8"}},
            },
            "ReplyToAddresses": ["r@example.com"],
            "Tags": [{"Name": "a", "Value": "b"}],
        },
    )


def test_v1_template_shape():
    operation, kwargs = build_send(
        "v1",
        from_addr=SENDER,
        to="rcpt@example.com",
        cc="cc@example.com",
        template="welcome",
        tags={"t": "v"},
    )
    assert operation == "send_templated_email"
    assert kwargs == {
        "Source": SENDER,
        "Destination": {"ToAddresses": ["rcpt@example.com"], "CcAddresses": ["cc@example.com"]},
        "Template": "welcome",
        "TemplateData": "{}",
        "Tags": [{"Name": "t", "Value": "v"}],
    }


def test_template_data_json_string_is_kept_verbatim():
    _, kwargs = build_send(
        "v1", from_addr=SENDER, to="r@example.com", template="t", template_data='{"a": [1, 2]}'
    )
    assert kwargs["TemplateData"] == '{"a": [1, 2]}'


def test_v1_with_attachment_goes_raw_and_round_trips():
    operation, kwargs = send(
        "v1",
        from_addr='"Doe, Señor" <sender@example.com>',
        to=["a@example.com", "Jürgen <j@bücher.de>"],
        cc="c@example.com",
        bcc="hidden@example.com",
        reply_to="r@example.com",
        subject="Grüße aus Köln",
        text="plain ünïcode",
        html="<p>html body</p>",
        attachments=[
            Attachment("résumé.pdf", bytes(range(256)) * 3),
            ("notes.txt", b"line1\nline2\n", "text/plain"),
            Attachment("logo.png", b"\x89PNG\r\n", inline=True, content_id="logo"),
        ],
        headers={"X-Campaign": "spring", "X-Note": "héllo"},
        configuration_set="cs",
        tags={"a": "b"},
    )
    assert operation == "send_raw_email"
    assert kwargs["Source"] == "=?utf-8?B?RG9lLCBTZcOxb3I=?= <sender@example.com>"
    assert kwargs["Destinations"] == [
        "a@example.com",
        "=?utf-8?B?SsO8cmdlbg==?= <j@xn--bcher-kva.de>",
        "c@example.com",
        "hidden@example.com",
    ]
    assert kwargs["ConfigurationSetName"] == "cs"
    assert kwargs["Tags"] == [{"Name": "a", "Value": "b"}]
    raw = kwargs["RawMessage"]["Data"]
    assert isinstance(raw, bytes)
    assert raw.isascii()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert b"hidden@example.com" not in raw  # Bcc travels in Destinations only
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert raw.count(b"MIME-Version") == 1

    parsed = parse_message(raw)
    assert parsed.from_ == '"Doe, Señor" <sender@example.com>'
    assert parsed.to == ["a@example.com", "Jürgen <j@xn--bcher-kva.de>"]
    assert parsed.cc == ["c@example.com"]
    assert parsed.bcc == []
    assert parsed.reply_to == ["r@example.com"]
    assert parsed.subject == "Grüße aus Köln"
    assert parsed.text.rstrip("\r\n") == "plain ünïcode"
    assert parsed.html.rstrip("\r\n") == "<p>html body</p>"
    assert parsed.headers["X-Campaign"] == "spring"
    assert parsed.headers["X-Note"] == "héllo"
    assert parsed.date
    by_name = {a.filename: a for a in parsed.attachments}
    assert set(by_name) == {"résumé.pdf", "notes.txt", "logo.png"}
    assert by_name["résumé.pdf"].content == bytes(range(256)) * 3
    assert by_name["résumé.pdf"].content_type == "application/pdf"
    assert by_name["résumé.pdf"].size == 768
    assert by_name["notes.txt"].content.replace(b"\r\n", b"\n") == b"line1\nline2\n"
    assert by_name["notes.txt"].content_type == "text/plain"
    assert by_name["logo.png"].inline is True
    assert by_name["logo.png"].content_id == "logo"
    assert by_name["logo.png"].content == b"\x89PNG\r\n"


def test_v1_custom_headers_alone_go_raw():
    operation, kwargs = send("v1", headers={"X-Priority": "1"}, text="just text")
    assert operation == "send_raw_email"
    parsed = parse_message(kwargs["RawMessage"]["Data"])
    assert parsed.headers["X-Priority"] == "1"
    assert parsed.text.rstrip() == "just text"
    assert parsed.html is None
    assert parsed.attachments == []
    assert "Content-Type" in parsed.headers


def test_v1_raw_html_only_and_custom_date():
    _, kwargs = send(
        "v1", html="<p>only html</p>", headers={"Date": "Mon, 1 Jan 2024 00:00:00 +0000"}
    )
    parsed = parse_message(kwargs["RawMessage"]["Data"])
    assert parsed.text is None
    assert parsed.html.strip() == "<p>only html</p>"
    assert [name for name, _ in parsed.header_list].count("Date") == 1
    assert parsed.date == "Mon, 01 Jan 2024 00:00:00 +0000"


def test_empty_text_body_is_a_body():
    _, kwargs = send("v2", text="")
    assert kwargs["Content"]["Simple"]["Body"] == {"Text": {"Data": "", "Charset": "UTF-8"}}


def test_subject_defaults_to_empty():
    _, kwargs = build_send("v2", from_addr=SENDER, to="r@example.com", text="x")
    assert kwargs["Content"]["Simple"]["Subject"] == {"Data": "", "Charset": "UTF-8"}


def test_invalid_api():
    with pytest.raises(SESValidationError) as info:
        build_send("v3", from_addr=SENDER, to="r@example.com", text="x")
    assert info.value.field == "api"


# --- addresses -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a@example.com", "a@example.com"),
        ("  a@example.com  ", "a@example.com"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
        ("John Doe <j@example.com>", "John Doe <j@example.com>"),
        ("<j@example.com>", "j@example.com"),
        ('"Doe, John" <j@example.com>', '"Doe, John" <j@example.com>'),
        ("Doe, John <j@example.com>", '"Doe, John" <j@example.com>'),
        ("John Q. Public <j@example.com>", '"John Q. Public" <j@example.com>'),
        ('"Say \\"hi\\"" <j@example.com>', '"Say \\"hi\\"" <j@example.com>'),
        ('"a<b" <j@example.com>', '"a<b" <j@example.com>'),
        ('"quoted local"@example.com', '"quoted local"@example.com'),
        ("=?utf-8?B?SsO8cmdlbg==?= <j@example.com>", "=?utf-8?B?SsO8cmdlbg==?= <j@example.com>"),
        ("j@bücher.de", "j@xn--bcher-kva.de"),
        ("j@BÜCHER.de", "j@xn--bcher-kva.de"),
        ("Jürgen <j@bücher.de>", "=?utf-8?B?SsO8cmdlbg==?= <j@xn--bcher-kva.de>"),
        ("x@xn--bcher-kva.de", "x@xn--bcher-kva.de"),
    ],
)
def test_normalize_address_accepts(value, expected):
    assert normalize_address(value, "to[0]") == expected


@pytest.mark.parametrize(
    "value",
    [
        "bob@",
        "bob",
        "@example.com",
        "a@b",
        "a b@example.com",
        "a@-example.com",
        "a@example..com",
        "a..b@example.com",
        ".a@example.com",
        "a@example.c",
        "a@1.2.3.4",
        "a@[127.0.0.1]",
        "<a@example.com",
        "Name <a@example.com> trailing",
        "Name a@example.com>",
        '"unbalanced <a@example.com>',
        "a@example.com (comment)",
        "x" * 65 + "@example.com",
        "a@" + "b" * 64 + ".com",
        "a@" + ("b" * 60 + ".") * 5 + "com",
    ],
)
def test_normalize_address_rejects(value):
    with pytest.raises(SESValidationError) as info:
        normalize_address(value, "to[2]")
    assert info.value.field == "to[2]"
    assert str(info.value.message).startswith(f"to[2]: {value!r} is not a valid email address")


def test_error_message_names_the_item():
    error = rejects("to[2]", to=["a@example.com", "b@example.com", "bob@"])
    assert error.message == "to[2]: 'bob@' is not a valid email address"


def test_non_ascii_local_part_is_refused_clearly():
    error = rejects("to[0]", to="jürgen@example.com")
    assert "SMTPUTF8" in error.message
    assert "jürgen@example.com" in error.message


def test_unencodable_idn_domain():
    error = rejects("cc[0]", cc="a@" + "ü" * 70 + ".de")
    assert "IDNA" in error.message


def test_non_string_address():
    rejects("to[1]", to=["a@example.com", 42])
    rejects("from_addr", from_addr=b"a@example.com")


def test_control_character_in_address():
    rejects("to[0]", to="Name\x00 <a@example.com>")


def test_parse_recipients_forms():
    assert parse_recipients(None) == []
    assert parse_recipients("") == []
    assert parse_recipients("  ") == []
    assert parse_recipients("a@example.com") == ["a@example.com"]
    assert parse_recipients("a@example.com, b@example.com,") == ["a@example.com", "b@example.com"]
    assert parse_recipients(" , a@example.com ,, ") == ["a@example.com"]
    assert parse_recipients(("a@example.com", "", "b@example.com")) == [
        "a@example.com",
        "b@example.com",
    ]
    assert parse_recipients('"Doe, John" <j@example.com>, "Roe, Jane" <r@example.com>') == [
        '"Doe, John" <j@example.com>',
        '"Roe, Jane" <r@example.com>',
    ]
    assert parse_recipients(x for x in ["a@example.com"]) == ["a@example.com"]


def test_parse_recipients_positions_count_blank_items():
    with pytest.raises(SESValidationError) as info:
        parse_recipients("a@example.com,,nope", field="cc")
    assert info.value.field == "cc[2]"


def test_parse_recipients_rejects_non_iterables():
    for value in (42, b"a@example.com"):
        with pytest.raises(SESValidationError) as info:
            parse_recipients(value, field="bcc")
        assert info.value.field == "bcc"


def test_split_addresses_respects_quotes_and_escapes():
    assert split_addresses('"a, \\"b, c" <x@y.com>, z@y.com') == [
        '"a, \\"b, c" <x@y.com>',
        " z@y.com",
    ]
    assert split_addresses("a@x.com,b@x.com") == ["a@x.com", "b@x.com"]


def test_encode_words_splits_long_text_within_limit():
    name = "Ünïcödé " * 20
    encoded = encode_words(name)
    words = encoded.split(" ")
    assert len(words) > 1
    assert all(len(w) <= 75 and w.startswith("=?utf-8?B?") for w in words)
    decoded = b"".join(base64.b64decode(w[10:-2]) for w in words).decode("utf-8")
    assert decoded == name
    assert encode_words("plain") == "plain"


def test_split_normalized():
    assert split_normalized("a@example.com") == ("", "a@example.com")
    assert split_normalized('"Doe, \\"J\\"" <a@example.com>') == ('Doe, "J"', "a@example.com")
    assert split_normalized("=?utf-8?B?SsO8cmdlbg==?= <j@x.com>") == ("Jürgen", "j@x.com")
    assert split_normalized("Plain Name <j@x.com>") == ("Plain Name", "j@x.com")


# --- validation --------------------------------------------------------------


def test_missing_sender():
    rejects("from_addr", from_addr="")
    rejects("from_addr", from_addr=None)
    rejects("from_addr", from_addr="not-an-address")


@pytest.mark.parametrize("to", ["", [], " , ", None, ()])
def test_no_recipients(to):
    error = rejects("to", to=to)
    assert "at least one recipient" in error.message


def test_bcc_alone_is_enough():
    _, kwargs = send("v2", to=None, bcc="b@example.com")
    assert kwargs["Destination"] == {"BccAddresses": ["b@example.com"]}


def test_fifty_recipients_pass_fifty_one_fail():
    addresses = [f"user{i}@example.com" for i in range(51)]
    _, kwargs = send("v2", to=addresses[:20], cc=addresses[20:40], bcc=addresses[40:50])
    destination = kwargs["Destination"]
    assert sum(len(v) for v in destination.values()) == MAX_RECIPIENTS == 50
    error = rejects("to", to=addresses[:20], cc=addresses[20:40], bcc=addresses[40:51])
    assert "51 recipients" in error.message
    rejects("to", api="v1", to=addresses)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("from_addr", {"from_addr": "a@example.com\r\nBcc: evil@example.com"}),
        ("from_addr", {"from_addr": "Name\n <a@example.com>"}),
        ("to[0]", {"to": "a@example.com\nBcc: evil@example.com"}),
        ("to[1]", {"to": ["a@example.com", "Evil\r <e@example.com>"]}),
        ("cc[0]", {"cc": ["c@example.com\r"]}),
        ("bcc[0]", {"bcc": "b@example.com\n"}),
        ("reply_to[0]", {"reply_to": '"Bob\r\nX-Injected: 1" <b@example.com>'}),
        ("subject", {"subject": "Hi\r\nBcc: evil@example.com"}),
        ("subject", {"subject": "Hi\nthere"}),
        ("subject", {"subject": "Hi\rthere"}),
        ("headers['X-Evil\\r\\nBcc']", {"headers": {"X-Evil\r\nBcc": "x"}}),
        ("headers['X-Ok']", {"headers": {"X-Ok": "v\r\nBcc: evil@example.com"}}),
        ("headers['X-Ok']", {"headers": [("X-Ok", "v\n")]}),
        ("attachments[0]", {"attachments": [("a\r\n.txt", b"x")]}),
        ("attachments[0]", {"attachments": [("a.txt", b"x", "text/plain\r\nX-Evil: 1")]}),
        (
            "attachments[0]",
            {"attachments": [Attachment("a.png", b"x", content_id="id\r\nX: y")]},
        ),
    ],
)
@pytest.mark.parametrize("api", ["v1", "v2"])
def test_line_breaks_in_header_fields_are_refused(api, field, kwargs):
    error = rejects(field, api=api, **kwargs)
    assert "line break" in error.message


@pytest.mark.parametrize(
    "name",
    ["X Space", "X:Colon", "", "Ünicode", "X-Tab\t"],
    ids=["space", "colon", "empty", "u", "t"],
)
def test_invalid_header_names(name):
    error = rejects(f"headers[{name!r}]", headers={name: "v"})
    assert "header name" in error.message


@pytest.mark.parametrize("name", ["From", "to", "CC", "Bcc", "Subject", "Reply-To", "Content-Type"])
def test_reserved_header_names(name):
    error = rejects(f"headers[{name!r}]", headers={name: "v"})
    assert "cannot be a custom header" in error.message


def test_header_value_non_ascii_v2_becomes_encoded_word():
    _, kwargs = send("v2", headers={"X-Name": "Zoë"})
    (header,) = kwargs["Content"]["Simple"]["Headers"]
    assert header == {"Name": "X-Name", "Value": "=?utf-8?B?Wm/Dqw==?="}


def test_header_limits_v2():
    rejects("headers", headers={f"X-H{i}": "v" for i in range(16)})
    send("v2", headers={f"X-H{i}": "v" for i in range(15)})
    op, _ = send("v1", headers={f"X-H{i}": "v" for i in range(16)})
    assert op == "send_raw_email"
    rejects("headers['X-Long']", headers={"X-Long": "v" * 996})
    rejects("headers['X-Empty']", headers={"X-Empty": ""})
    rejects(f"headers[{'X' * 127!r}]", headers={"X" * 127: "v"})


def test_header_shapes_rejected():
    rejects("headers", headers="X-A: b")
    rejects("headers", headers=[("X-A",)])
    rejects("headers['X-A']", headers={"X-A": 5})


def test_no_body_no_template():
    error = rejects("text", text=None, html=None)
    assert "no body" in error.message


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"subject": "s"}, "subject"),
        ({"text": "t"}, "text"),
        ({"html": "<p>h</p>"}, "html"),
        ({"attachments": [("a.txt", b"x")]}, "attachments"),
    ],
)
@pytest.mark.parametrize("api", ["v1", "v2"])
def test_template_cannot_be_combined_with_content(api, extra, field):
    with pytest.raises(SESValidationError) as info:
        build_send(api, from_addr=SENDER, to="r@example.com", template="t", **extra)
    assert info.value.field == field
    assert "cannot be combined with template" in info.value.message


def test_template_with_headers_needs_v2():
    with pytest.raises(SESValidationError) as info:
        build_send("v1", from_addr=SENDER, to="r@example.com", template="t", headers={"X-A": "b"})
    assert info.value.field == "headers"


def test_template_argument_checks():
    def attempt(**kwargs):
        with pytest.raises(SESValidationError) as info:
            build_send("v2", from_addr=SENDER, to="r@example.com", **kwargs)
        return info.value

    assert attempt(template="").field == "template"
    assert attempt(template=3).field == "template"
    assert attempt(template="t", template_data="{not json").field == "template_data"
    assert attempt(template="t", template_data="[1, 2]").field == "template_data"
    assert attempt(template="t", template_data={"x": object()}).field == "template_data"
    assert attempt(template="t", template_data=["a"]).field == "template_data"
    assert attempt(template="t", template_data={"x": "y" * 262_144}).field == "template_data"
    assert attempt(text="x", template_data={"a": 1}).field == "template_data"


def test_body_type_checks():
    rejects("text", text=b"bytes")
    rejects("html", html=42)
    rejects("subject", subject=42)


def test_tags_validation():
    rejects("tags['bad name']", tags={"bad name": "v"})
    rejects("tags['k']", tags={"k": "has.dot"})
    rejects("tags['k']", tags={"k": ""})
    rejects("tags['k']", tags={"k": 1})
    rejects(f"tags[{'k' * 257!r}]", tags={"k" * 257: "v"})
    rejects("tags", tags=[("a", "b")])


def test_configuration_set_validation():
    rejects("configuration_set", configuration_set="")
    rejects("configuration_set", configuration_set=5)


# --- attachments -------------------------------------------------------------------


def test_attachment_forms(tmp_path: Path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n")
    _, kwargs = send(
        "v2",
        attachments=[
            path,
            ("photo.jpg", bytearray(b"\xff\xd8")),
            ("blob.weird-ext", b"x"),
            ("x.txt", memoryview(b"text"), "text/plain; charset=utf-8"),
        ],
    )
    got = [(a["FileName"], a["ContentType"], a["RawContent"]) for a in _attachments(kwargs)]
    assert got == [
        ("data.csv", "text/csv", b"a,b\n1,2\n"),
        ("photo.jpg", "image/jpeg", b"\xff\xd8"),
        ("blob.weird-ext", "application/octet-stream", b"x"),
        ("x.txt", "text/plain; charset=utf-8", b"text"),
    ]


def _attachments(kwargs):
    return kwargs["Content"]["Simple"]["Attachments"]


def test_single_attachment_without_list(tmp_path: Path):
    _, kwargs = send("v2", attachments=("a.txt", b"x"))
    assert [a["FileName"] for a in _attachments(kwargs)] == ["a.txt"]
    _, kwargs = send("v2", attachments=Attachment("b.txt", b"y"))
    assert [a["FileName"] for a in _attachments(kwargs)] == ["b.txt"]
    path = tmp_path / "c.txt"
    path.write_bytes(b"z")
    _, kwargs = send("v2", attachments=path)
    assert [a["RawContent"] for a in _attachments(kwargs)] == [b"z"]


def test_attachment_errors(tmp_path: Path):
    error = rejects("attachments[0]", attachments=[tmp_path / "missing.bin"])
    assert "cannot read" in error.message
    error = rejects("attachments[1]", attachments=[("a.txt", b"x"), "/etc/passwd"])
    assert "pathlib.Path" in error.message
    error = rejects("attachments[0]", attachments=[("a.txt", "text not bytes")])
    assert "bytes" in error.message
    rejects("attachments[0]", attachments=[("", b"x")])
    rejects("attachments[0]", attachments=[("a.txt", b"x", "nonsense")])
    rejects("attachments[0]", attachments=[("a.txt", b"x", 5)])
    rejects("attachments[0]", attachments=[("f" * 256, b"x")])
    rejects("attachments[0]", attachments=[Attachment("a.png", b"x", content_id="")])
    rejects("attachments[0]", attachments=[42])
    rejects("attachments", attachments=42)


@pytest.mark.parametrize("name", ["setup.exe", "run.BAT", "script.js", "x.vbs", "a.b.ps1"])
def test_blocked_attachment_extensions(name):
    error = rejects("attachments[0]", attachments=[(name, b"MZ")])
    assert "extension" in error.message


# --- size limits -------------------------------------------------------------------


def test_v2_size_limit_counts_base64():
    # 30 MiB raw is 40+ MiB once base64-encoded with line breaks.
    big = bytes(30 * 1024 * 1024)
    error = rejects("attachments", attachments=[("big.bin", big)])
    assert "40 MiB" in error.message
    operation, _ = send("v2", attachments=[("ok.bin", bytes(28 * 1024 * 1024))])
    assert operation == "send_email"
    assert MAX_MESSAGE_SIZE_V2 == 40 * 1024 * 1024


def test_v1_size_limit():
    assert MAX_MESSAGE_SIZE_V1 == 10 * 1024 * 1024
    error = rejects("attachments", api="v1", attachments=[("big.bin", bytes(8 * 1024 * 1024))])
    assert "10 MiB" in error.message
    assert "v2" in error.message
    # The same message fits the v2 API.
    send("v2", attachments=[("big.bin", bytes(8 * 1024 * 1024))])


def test_large_body_without_attachments():
    body = "x" * (MAX_MESSAGE_SIZE_V1 + 1)
    error = rejects("text", api="v1", text=body)
    assert "10 MiB" in error.message
    operation, _ = send("v2", text=body)
    assert operation == "send_email"
    rejects("html", api="v2", html="é" * (MAX_MESSAGE_SIZE_V2 // 2))


# --- laziness ----------------------------------------------------------------------


def test_simple_path_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from sesclient._message import build_send\n"
        "build_send('v2', from_addr='s@example.com', to='r@example.com', subject='s', text='t')\n"
        "build_send('v1', from_addr='S <s@example.com>', to=['r@example.com'], html='<p>')\n"
        "heavy = [m for m in ('email.message', 'encodings.idna', 'json', 'mimetypes',"
        " 'html.parser', 'base64') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=_repo()
    )
    assert result.stdout.strip() == ""


def _repo() -> str:
    return str(Path(__file__).resolve().parent.parent)


# --- html_to_text ------------------------------------------------------------------


def test_html_to_text_structure():
    html = (
        "<html><head><title>Ignored</title><style>p {color: red}</style></head><body>"
        "<h1>Welcome</h1><p>Hello&nbsp;<b>world</b> &amp; friends,\n   how are   you?</p>"
        "<ul><li>one</li><li>two <a href='https://example.com/x'>link</a></li></ul>"
        "<p>line<br>break<br/>again</p><script>alert('x')</script>"
        "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>"
        "</body></html>"
    )
    assert html_to_text(html) == (
        "Welcome\n\n"
        "Hello world & friends, how are you?\n\n"
        "- one\n"
        "- two link (https://example.com/x)\n\n"
        "line\nbreak\nagain\n\n"
        "a b\n"
        "c d"
    )


def test_html_to_text_links():
    assert html_to_text('<a href="https://x.com">https://x.com</a>') == "https://x.com"
    assert html_to_text('<a href="mailto:a@b.com">write</a>') == "write (a@b.com)"
    assert html_to_text('<a href="mailto:a@b.com">a@b.com</a>') == "a@b.com"
    assert html_to_text('<a href="#top">Top</a>') == "Top"
    assert html_to_text('<a href="https://x.com"></a>') == "https://x.com"
    assert html_to_text('<a name="anchor">Plain</a>') == "Plain"


def test_html_to_text_pre_entities_and_images():
    assert html_to_text("<pre>  a\n    b</pre><p>x &lt;y&gt; &#233;</p>") == "  a\n    b\n\nx <y> é"
    assert html_to_text('<p>Logo: <img src="l.png" alt="ACME"></p>') == "Logo: ACME"
    assert html_to_text("plain text only") == "plain text only"
    assert html_to_text("") == ""
    assert html_to_text("<p>a</p><p></p><p></p><div><p>b</p></div>") == "a\n\nb"
    assert html_to_text("<p>a</p><hr><p>b</p>") == "a\n\n--------------------\n\nb"


def test_template_data_dump_is_valid_json():
    _, kwargs = build_send(
        "v2",
        from_addr=SENDER,
        to="r@example.com",
        template="t",
        template_data={"nested": {"list": [1, "two", None]}, "uni": "ß"},
    )
    data = kwargs["Content"]["Template"]["TemplateData"]
    assert json.loads(data) == {"nested": {"list": [1, "two", None]}, "uni": "ß"}
