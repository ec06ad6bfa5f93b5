"""Parsing raw MIME messages for the local endpoint's inbox."""

from __future__ import annotations

import pytest

from sesclient._message import Attachment, build_send
from sesclient.local._mime import ParsedAttachment, ParsedMessage, parse_message


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def test_simple_plain_message():
    raw = crlf(
        "From: Alice <alice@example.com>\n"
        'To: bob@example.com, "Roe, Jane" <jane@example.com>\n'
        "Cc: =?utf-8?B?SsO8cmdlbg==?= <j@example.com>\n"
        "Bcc: secret@example.com\n"
        "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n"
        "Message-ID: <abc@example.com>\n"
        "Date: Mon, 01 Jan 2024 10:00:00 +0000\n"
        "X-Custom: one\n"
        "X-Custom: two\n"
        "\n"
        "Hello Bob.\n"
    )
    parsed = parse_message(raw)
    assert isinstance(parsed, ParsedMessage)
    assert parsed.from_ == "Alice <alice@example.com>"
    assert parsed.to == ["bob@example.com", '"Roe, Jane" <jane@example.com>']
    assert parsed.cc == ["Jürgen <j@example.com>"]
    assert parsed.bcc == ["secret@example.com"]
    assert parsed.subject == "Grüße"
    assert parsed.message_id == "<abc@example.com>"
    assert parsed.date == "Mon, 01 Jan 2024 10:00:00 +0000"
    assert parsed.text == "Hello Bob.\r\n"
    assert parsed.html is None
    assert parsed.attachments == []
    assert parsed.headers["X-Custom"] == "one, two"
    assert [v for k, v in parsed.header_list if k == "X-Custom"] == ["one", "two"]


def test_html_only_quoted_printable():
    raw = crlf(
        "From: a@example.com\n"
        "To: b@example.com\n"
        "Subject: hi\n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/html; charset="utf-8"\n'
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "<p>caf=C3=A9 =\n"
        "long</p>\n"
    )
    parsed = parse_message(raw)
    assert parsed.text is None
    assert parsed.html == "<p>café long</p>\r\n"
    assert parsed.attachments == []


def test_alternative_with_extra_rendition_is_not_an_attachment():
    raw = crlf(
        "From: a@example.com\n"
        "To: b@example.com\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="B"\n'
        "\n"
        "--B\n"
        "Content-Type: text/plain\n"
        "\n"
        "plain\n"
        "--B\n"
        "Content-Type: text/enriched\n"
        "\n"
        "<bold>rich</bold>\n"
        "--B\n"
        "Content-Type: text/html\n"
        "\n"
        "<b>html</b>\n"
        "--B--\n"
    )
    parsed = parse_message(raw)
    assert parsed.text.strip() == "plain"
    assert parsed.html.strip() == "<b>html</b>"
    assert parsed.attachments == []


def test_attachments_with_rfc2231_names_and_nested_message():
    raw = crlf(
        "From: a@example.com\n"
        "To: b@example.com\n"
        "Subject: files\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="OUT"\n'
        "\n"
        "--OUT\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        "see attached\n"
        "--OUT\n"
        "Content-Type: application/octet-stream\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.bin\n"
        "\n"
        "AAEC/w==\n"
        "--OUT\n"
        "Content-Type: text/csv\n"
        'Content-Disposition: attachment; filename="data.csv"\n'
        "\n"
        "a,b\n"
        "--OUT\n"
        "Content-Type: message/rfc822\n"
        "Content-Disposition: attachment\n"
        "\n"
        "From: inner@example.com\n"
        "Subject: inner\n"
        "\n"
        "inner body\n"
        "--OUT--\n"
    )
    parsed = parse_message(raw)
    assert parsed.text.strip() == "see attached"
    first, second, third = parsed.attachments
    assert first == ParsedAttachment(
        "résumé.bin", "application/octet-stream", 4, b"\x00\x01\x02\xff"
    )
    assert (second.filename, second.content_type, second.content) == (
        "data.csv",
        "text/csv",
        b"a,b",  # the line break before a boundary belongs to the boundary
    )
    assert second.size == 3
    assert third.content_type == "message/rfc822"
    assert b"Subject: inner" in third.content
    assert third.size == len(third.content)


def test_attachment_without_a_filename():
    raw = crlf(
        "From: a@example.com\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="X"\n'
        "\n"
        "--X\n"
        "Content-Type: text/plain\n"
        "\n"
        "body\n"
        "--X\n"
        "Content-Type: image/gif\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "R0lG\n"
        "--X--\n"
    )
    parsed = parse_message(raw)
    assert parsed.to == []
    assert parsed.subject == ""
    (attachment,) = parsed.attachments
    assert attachment.filename == ""
    assert attachment.content == b"GIF"
    assert attachment.inline is False


def test_bytes_like_inputs_and_type_error():
    raw = crlf("From: a@example.com\nTo: b@example.com\n\nx\n")
    assert parse_message(bytearray(raw)).to == ["b@example.com"]
    assert parse_message(memoryview(raw)).from_ == "a@example.com"
    with pytest.raises(TypeError):
        parse_message(raw.decode())  # type: ignore[arg-type]


def test_garbage_does_not_raise():
    parsed = parse_message(b"\x00\xff not a message at all")
    assert parsed.from_ == ""
    assert parsed.to == []
    parsed = parse_message(b"")
    assert parsed.subject == ""
    assert parsed.text in (None, "")


def test_unknown_charset_is_decoded_leniently():
    raw = crlf(
        "From: a@example.com\nContent-Type: text/plain; charset=x-no-such-charset\n\nh\u00e9llo\n"
    )
    parsed = parse_message(raw)
    assert parsed.text.startswith("h")
    assert "llo" in parsed.text


def test_round_trip_of_a_built_raw_message():
    _, kwargs = build_send(
        "v1",
        from_addr="Sender Name <sender@example.com>",
        to='a@example.com, "Doe, John" <john@example.com>',
        cc=["c@example.com"],
        bcc=["hidden@example.com"],
        reply_to="replies@example.com",
        subject="Quarterly report \u2013 Q3",
        text="Hi,\nthe report is attached.\n" + "long line " * 30,
        html="<p>Hi,</p><p>the report is <b>attached</b>.</p><img src='cid:chart'>",
        attachments=[
            Attachment("report.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40),
            Attachment(
                "chart.png", b"\x89PNG\r\n\x1a\n" + bytes(100), inline=True, content_id="chart"
            ),
            ("notes.txt", "ünïcode notes\n".encode()),
        ],
        headers={"X-Campaign": "q3", "List-Unsubscribe": "<mailto:unsub@example.com>"},
    )
    parsed = parse_message(kwargs["RawMessage"]["Data"])
    assert parsed.from_ == "Sender Name <sender@example.com>"
    assert parsed.to == ["a@example.com", '"Doe, John" <john@example.com>']
    assert parsed.cc == ["c@example.com"]
    assert parsed.bcc == []
    assert parsed.reply_to == ["replies@example.com"]
    assert parsed.subject == "Quarterly report \u2013 Q3"
    assert parsed.text.replace("\r\n", "\n").rstrip("\n") == (
        "Hi,\nthe report is attached.\n" + "long line " * 30
    ).rstrip("\n")
    assert parsed.html.rstrip() == (
        "<p>Hi,</p><p>the report is <b>attached</b>.</p><img src='cid:chart'>"
    )
    assert parsed.headers["X-Campaign"] == "q3"
    assert parsed.headers["List-Unsubscribe"] == "<mailto:unsub@example.com>"
    got = {a.filename: a for a in parsed.attachments}
    assert got["report.pdf"].content == b"%PDF-1.7\n" + bytes(range(256)) * 40
    assert got["report.pdf"].content_type == "application/pdf"
    assert got["chart.png"].inline and got["chart.png"].content_id == "chart"
    assert got["chart.png"].content == b"\x89PNG\r\n\x1a\n" + bytes(100)
    assert got["notes.txt"].content.decode() == "ünïcode notes\n"
    assert got["notes.txt"].size == len("ünïcode notes\n".encode())
