"""Every operation of both APIs against botocore's own serialisers and parsers.

For each of the 71 + 110 operations an example input is generated from the
model; sesclient's request must equal botocore's (method, path, query and
body, order-insensitive where the protocol allows).  An example output is
encoded by sesclient's server side and parsed by both botocore and sesclient,
which must agree.  Every modelled error goes the same way.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from sesclient import _query, _restjson
from sesclient._models import load

MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "aws-models"
botocore_model = pytest.importorskip("botocore.model")
serialize = pytest.importorskip("botocore.serialize")
parsers = pytest.importorskip("botocore.parsers")
awsrequest = pytest.importorskip("botocore.awsrequest")

if not MODELS.is_dir():
    pytest.skip(
        f"the SES API models are not at {MODELS} (../shared beside the repository)",
        allow_module_level=True,
    )

SERVICE_FILES = {
    "v1": MODELS / "ses" / "2010-12-01" / "service-2.json",
    "v2": MODELS / "sesv2" / "2019-09-27" / "service-2.json",
}


def _service(api: str):
    return botocore_model.ServiceModel(json.loads(SERVICE_FILES[api].read_text()))


SERVICES = {api: _service(api) for api in SERVICE_FILES}
STAMP = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def example(shapes, name, depth=0, *, label=False):
    """A value for shape ``name`` that exercises encoding: reserved characters, unicode."""
    shape = shapes[name]
    kind = shape[0]
    if kind == "structure":
        if depth > 6:
            return {}
        return {m: example(shapes, s, depth + 1) for m, s in shape[1].items()}
    if kind == "list":
        if depth > 6:
            return []
        count = min(2, shape[3]) if shape[3] is not None else 2
        return [example(shapes, shape[1], depth + 1) for _ in range(count)]
    if kind == "map":
        enum = shapes[shape[1]][3] if shapes[shape[1]][0] == "string" else None
        keys = list(enum[:2]) if enum else ["k0", "k1"]
        return {key: example(shapes, shape[2], depth + 1) for key in keys}
    if kind == "string":
        if shape[3]:
            return shape[3][-1]
        text = "a+b c/é@x.com&=" if not label else "user+tag@example.com"
        low, high = shape[1] or 1, shape[2]
        if len(text) < low:
            text = text + "x" * (low - len(text))
        if high is not None:
            text = text[:high]
        return text
    if kind == "integer":
        return shape[1] if shape[1] is not None else 7
    if kind == "double":
        return 2.5
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return STAMP
    if kind == "blob":
        return b"\x00\xffblob"
    raise AssertionError(kind)


def _operations(api):
    return sorted(load(api).OPERATIONS.items())


def test_operation_counts_match_the_models():
    assert len(load("v1").OPERATIONS) == len(SERVICES["v1"].operation_names) == 71
    assert len(load("v2").OPERATIONS) == len(SERVICES["v2"].operation_names) == 110


@pytest.mark.parametrize(("snake", "op"), _operations("v1"), ids=lambda v: str(v)[:40])
def test_v1_request_matches_botocore(snake, op):
    tables = load("v1")
    params = example(tables.SHAPES, op[3]) if op[3] else {}
    theirs = serialize.create_serializer("query").serialize_to_request(
        params, SERVICES["v1"].operation_model(op[0])
    )
    ours = _query.serialize_request(op[0], params)
    assert sorted(parse_qsl(ours.decode(), keep_blank_values=True)) == sorted(
        (k, str(v)) for k, v in theirs["body"].items()
    )
    # and the local endpoint reads back what the client wrote
    assert _query.decode_query_request(ours) == (op[0], params)


def _botocore_v2(op_name, params):
    serialized = serialize.create_serializer("rest-json").serialize_to_request(
        params, SERVICES["v2"].operation_model(op_name)
    )
    query = []
    for key, value in serialized["query_string"].items():
        for item in value if isinstance(value, list) else [value]:
            query.append((key, str(item)))
    return serialized, sorted(query)


@pytest.mark.parametrize(("snake", "op"), _operations("v2"), ids=lambda v: str(v)[:40])
def test_v2_request_matches_botocore(snake, op):
    tables = load("v2")
    params = example(tables.SHAPES, op[3]) if op[3] else {}
    theirs, their_query = _botocore_v2(op[0], params)
    method, uri, body = _restjson.serialize_request(op, params)
    path, _, query = uri.partition("?")
    assert method == theirs["method"]
    assert path == theirs["url_path"]
    assert sorted(parse_qsl(query, keep_blank_values=True)) == their_query
    if theirs["body"] in (b"", b"{}"):
        assert body == theirs["body"]
    else:
        assert json.loads(body) == json.loads(theirs["body"])
    name, decoded = _restjson.decode_restjson_request(method, path, query, body)
    assert name == op[0]
    assert decoded == params


def _strip_metadata(parsed):
    parsed = dict(parsed)
    metadata = parsed.pop("ResponseMetadata", {})
    return parsed, metadata.get("RequestId")


@pytest.mark.parametrize(("snake", "op"), _operations("v1"), ids=lambda v: str(v)[:40])
def test_v1_response_parses_like_botocore(snake, op):
    tables = load("v1")
    result = example(tables.SHAPES, op[4]) if op[4] else {}
    body = _query.encode_query_response(op[0], result, request_id="req-1")
    model = SERVICES["v1"].operation_model(op[0])
    theirs = parsers.create_parser("query").parse(
        {"body": body, "headers": {}, "status_code": 200}, model.output_shape
    )
    ours = _query.parse_response(op[0], 200, {}, body)
    assert _strip_metadata(ours) == _strip_metadata(theirs)
    assert _strip_metadata(ours) == (result, "req-1")


@pytest.mark.parametrize(("snake", "op"), _operations("v2"), ids=lambda v: str(v)[:40])
def test_v2_response_parses_like_botocore(snake, op):
    tables = load("v2")
    result = example(tables.SHAPES, op[4]) if op[4] else {}
    status, body = _restjson.encode_restjson_response(op[0], result)
    headers = {"x-amzn-requestid": "req-2"}
    model = SERVICES["v2"].operation_model(op[0])
    theirs = parsers.create_parser("rest-json").parse(
        {"body": body, "headers": headers, "status_code": status}, model.output_shape
    )
    ours = _restjson.parse_response(op, status, headers, body)
    assert _strip_metadata(ours) == _strip_metadata(theirs)
    assert _strip_metadata(ours)[0] == result


@pytest.mark.parametrize("code", sorted(load("v1").ERRORS))
def test_v1_errors_parse_like_botocore(code):
    body = _query.encode_query_error(code, "it failed <badly> & loudly", request_id="req-3")
    theirs = parsers.create_parser("query").parse(
        {"body": body, "headers": {}, "status_code": 400}, None
    )
    assert _query.parse_error(body) == (
        theirs["Error"]["Code"],
        theirs["Error"]["Message"],
        theirs["Error"]["Type"],
        theirs["ResponseMetadata"]["RequestId"],
    )


@pytest.mark.parametrize("code", sorted(load("v2").ERRORS))
def test_v2_errors_parse_like_botocore(code):
    status, headers, body = _restjson.encode_restjson_error(code, "it failed")
    assert status == load("v2").ERRORS[code][0]
    lowered = {k.lower(): v for k, v in headers.items()}
    theirs = parsers.create_parser("rest-json").parse(
        {"body": body, "headers": lowered, "status_code": status}, None
    )
    assert _restjson.parse_error(lowered, body) == (
        theirs["Error"]["Code"],
        theirs["Error"]["Message"],
    )


def test_v2_error_code_forms():
    assert _restjson.parse_error(
        {"x-amzn-errortype": "NotFoundException:http://internal.amazon.com/"}, b"{}"
    ) == ("NotFoundException", "")
    assert _restjson.parse_error(
        {}, b'{"__type": "aws.ses#BadRequestException", "message": "m"}'
    ) == (
        "BadRequestException",
        "m",
    )
    assert _restjson.parse_error(
        {}, b'{"code": "TooManyRequestsException", "Message": "slow"}'
    ) == (
        "TooManyRequestsException",
        "slow",
    )
    assert _restjson.parse_error({}, b"<html>gateway</html>") == ("", "<html>gateway</html>")


def test_generated_tables_are_up_to_date():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "generate_models", Path(__file__).resolve().parents[1] / "tools" / "generate_models.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stale = [
        str(path) for path, text in module.generate(MODELS).items() if path.read_text() != text
    ]
    assert not stale, f"run python tools/generate_models.py: {stale} would change"


def test_generated_tables_hold_no_documentation():
    for api in ("v1", "v2"):
        source = Path(load(api).__file__).read_text()
        assert "<p>" not in source and "documentation" not in source


def test_arguments_passed_as_none_are_left_out():
    op = load("v2").OPERATIONS["send_email"]
    params = {
        "FromEmailAddress": "a@example.com",
        "ConfigurationSetName": None,
        "Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}},
    }
    _, _, body = _restjson.serialize_request(op, params)
    assert "ConfigurationSetName" not in json.loads(body)
    v1_body = _query.serialize_request("SendEmail", {"Source": "a@example.com", "ReturnPath": None})
    assert b"ReturnPath" not in v1_body
