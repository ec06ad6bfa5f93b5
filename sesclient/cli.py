"""The ``sesclient`` command line.

Subcommands: ``demo`` (the main job, against an embedded local endpoint),
``serve`` (the local SES endpoint), ``send``, ``bulk``, ``quota`` and
``templates``.  Credentials and region come from the AWS default chain;
failures print one line and exit non-zero.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_FAILURE = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A failure worth one line on stderr."""


def _read_arg(value: str | None) -> str | None:
    """``@path`` reads the file; anything else is taken literally."""
    if value is None or not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None


def _variables(pairs: Sequence[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"--var expects key=value, got {pair!r}")
        result[key] = value
    return result


def _add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", choices=("v1", "v2"), default="v2", help="SES API (default v2)")
    parser.add_argument("--region", help="AWS region (default: the AWS configuration)")
    parser.add_argument("--endpoint-url", help="custom endpoint, e.g. a local `sesclient serve`")
    parser.add_argument("--profile", help="profile in the shared AWS files")


def _client(args: argparse.Namespace) -> Any:
    from ._client import SESClient

    return SESClient(
        args.region, api=args.api, endpoint_url=args.endpoint_url, profile=args.profile
    )


def _cmd_send(args: argparse.Namespace) -> int:
    text, html = _read_arg(args.text), _read_arg(args.html)
    with _client(args) as client:
        result = client.send_email(
            from_addr=args.from_addr,
            to=args.to,
            cc=args.cc or (),
            bcc=args.bcc or (),
            reply_to=args.reply_to or (),
            subject=args.subject,
            text=text,
            html=html,
            template=args.template,
            template_data=_variables(args.var) if args.template else None,
            configuration_set=args.configuration_set,
        )
    print(result.message_id)
    return 0


def _cmd_quota(args: argparse.Namespace) -> int:
    with _client(args) as client:
        if args.api == "v1":
            quota = client.v1.get_send_quota()
        else:
            quota = client.v2.get_account()["SendQuota"]
    for key in ("Max24HourSend", "MaxSendRate", "SentLast24Hours"):
        print(f"{key}: {quota.get(key, 0):g}")
    return 0


def _cmd_templates(args: argparse.Namespace) -> int:
    with _client(args) as client:
        if args.action == "list":
            names = _list_templates(client, args.api)
            print("\n".join(names) if names else "(no templates)")
        elif args.action == "get":
            print(json.dumps(_get_template(client, args.api, args.name), indent=2))
        elif args.action == "create":
            subject, text, html = args.subject, _read_arg(args.text), _read_arg(args.html)
            if args.api == "v1":
                template = {"TemplateName": args.name, "SubjectPart": subject}
                if text is not None:
                    template["TextPart"] = text
                if html is not None:
                    template["HtmlPart"] = html
                client.v1.create_template(Template=template)
            else:
                content = {"Subject": subject}
                if text is not None:
                    content["Text"] = text
                if html is not None:
                    content["Html"] = html
                client.v2.create_email_template(TemplateName=args.name, TemplateContent=content)
            print(f"created {args.name}")
        else:
            if args.api == "v1":
                client.v1.delete_template(TemplateName=args.name)
            else:
                client.v2.delete_email_template(TemplateName=args.name)
            print(f"deleted {args.name}")
    return 0


def _list_templates(client: Any, api: str) -> list[str]:
    if api == "v1":
        pages = client.v1.get_paginator("list_templates").paginate()
        return [t["Name"] for page in pages for t in page.get("TemplatesMetadata", [])]
    names: list[str] = []
    token: str | None = None
    while True:
        kwargs: dict[str, str] = {"NextToken": token} if token else {}
        page = client.v2.list_email_templates(**kwargs)
        names += [t["TemplateName"] for t in page.get("TemplatesMetadata", [])]
        token = page.get("NextToken")
        if not token:
            return names


def _get_template(client: Any, api: str, name: str) -> dict[str, Any]:
    if api == "v1":
        return client.v1.get_template(TemplateName=name)["Template"]
    response = client.v2.get_email_template(TemplateName=name)
    return {"TemplateName": response["TemplateName"], **response["TemplateContent"]}


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(recipients=args.recipients, keep_serving=args.keep_serving)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sesclient", description="A small, fast client for Amazon SES."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    demo = commands.add_parser("demo", help="send through an embedded local SES endpoint")
    demo.add_argument("--recipients", type=int, default=1000, help="bulk batch size (1000)")
    demo.add_argument(
        "--keep-serving", action="store_true", help="keep the endpoint up to browse the inbox"
    )
    demo.set_defaults(handler=_cmd_demo)

    from .local._cli import add_serve_arguments, run_serve

    serve = commands.add_parser("serve", help="run the local SES endpoint")
    add_serve_arguments(serve)
    serve.set_defaults(handler=run_serve)

    send = commands.add_parser("send", help="send one email")
    send.add_argument("--from", dest="from_addr", required=True, help="sender address")
    send.add_argument("--to", required=True, help="comma-separated recipients")
    send.add_argument("--cc", help="comma-separated Cc recipients")
    send.add_argument("--bcc", help="comma-separated Bcc recipients")
    send.add_argument("--reply-to", help="comma-separated Reply-To addresses")
    send.add_argument("--subject", help="subject (not with --template)")
    send.add_argument("--text", help="plain-text body, or @file")
    send.add_argument("--html", help="HTML body, or @file")
    send.add_argument("--template", help="template name")
    send.add_argument("--var", action="append", default=[], help="template variable key=value")
    send.add_argument("--configuration-set", help="configuration set name")
    _add_connection_arguments(send)
    send.set_defaults(handler=_cmd_send)

    from .bulk._cli import add_bulk_arguments, run_bulk

    bulk = commands.add_parser("bulk", help="send to many recipients from a CSV or JSONL file")
    add_bulk_arguments(bulk)
    _add_connection_arguments(bulk)
    bulk.set_defaults(handler=run_bulk)

    quota = commands.add_parser("quota", help="print the send quota")
    _add_connection_arguments(quota)
    quota.set_defaults(handler=_cmd_quota)

    templates = commands.add_parser("templates", help="list, get, create or delete templates")
    template_actions = templates.add_subparsers(dest="action", metavar="ACTION")
    template_actions.required = True
    template_actions.add_parser("list", help="list template names")
    for action in ("get", "delete"):
        template_actions.add_parser(action, help=f"{action} a template").add_argument("name")
    create = template_actions.add_parser("create", help="create a template")
    create.add_argument("name")
    create.add_argument("--subject", required=True)
    create.add_argument("--text", help="text part, or @file")
    create.add_argument("--html", help="HTML part, or @file")
    for action_parser in template_actions.choices.values():
        _add_connection_arguments(action_parser)
    templates.set_defaults(handler=_cmd_templates)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sesclient`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from ._errors import SESError

    try:
        return int(args.handler(args) or 0)
    except CommandError as exc:
        print(f"sesclient: {exc}", file=sys.stderr)
    except SESError as exc:
        print(f"sesclient: {type(exc).__name__}: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
