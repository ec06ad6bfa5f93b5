"""``sesclient bulk``: send to the recipients of a CSV or JSON Lines file.

:func:`add_bulk_arguments` fills the subcommand's parser (the caller adds
``--api``, ``--region``, ``--endpoint-url`` and ``--profile``) and
:func:`run_bulk` runs it.  Exit status: 0 when every recipient was sent, 1
when any failed or is unknown, 2 for unusable input.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["EXIT_INPUT", "EXIT_NOT_ALL_SENT", "add_bulk_arguments", "run_bulk"]

EXIT_NOT_ALL_SENT = 1
EXIT_INPUT = 2


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def add_bulk_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``bulk`` options to ``parser``."""
    parser.add_argument(
        "recipients",
        help="CSV (an 'email' or 'address' column; other columns are template data) or "
        'JSON Lines ({"email": ..., "data": {...}} per line)',
    )
    parser.add_argument(
        "--format", choices=("csv", "jsonl"), help="input format (default: by extension)"
    )
    parser.add_argument("--from", dest="from_addr", required=True, help="sender address")
    content = parser.add_argument_group("content (a template, or a subject and body)")
    content.add_argument("--template", help="SES template name: sent with SendBulkEmail, 50 a call")
    content.add_argument(
        "--default-data", help="template data for every recipient, as a JSON object (or @file)"
    )
    content.add_argument("--subject", help="subject (without --template)")
    content.add_argument("--text", help="plain-text body, or @file (without --template)")
    content.add_argument("--html", help="HTML body, or @file (without --template)")
    content.add_argument("--reply-to", help="comma-separated Reply-To addresses")
    content.add_argument("--configuration-set", help="configuration set name")
    pacing = parser.add_argument_group("pacing")
    pacing.add_argument(
        "--rate", type=_positive_float, help="recipients per second (default: the account's)"
    )
    pacing.add_argument(
        "--concurrency", type=_positive_int, default=16, help="requests in flight (16)"
    )
    pacing.add_argument(
        "--batch-size",
        type=_positive_int,
        default=50,
        help="recipients per bulk call, at most 50 (50)",
    )
    pacing.add_argument(
        "--max-attempts", type=_positive_int, default=8, help="attempts per recipient (8)"
    )
    pacing.add_argument(
        "--allow-partial",
        action="store_true",
        help="start even when the daily quota cannot cover every recipient",
    )
    pacing.add_argument(
        "--no-quota-check", action="store_true", help="do not read the quota before sending"
    )
    journal = parser.add_argument_group("journal")
    journal.add_argument("--journal", help="SQLite file recording each recipient (for --resume)")
    journal.add_argument("--resume", action="store_true", help="continue the run in --journal")
    journal.add_argument(
        "--resend-unknown",
        action="store_true",
        help="on resume, send again to recipients whose outcome is unknown (may duplicate)",
    )
    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    output.add_argument("--results", help="write one JSON line per recipient to this file")
    output.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress line on stderr (default: when stderr is a terminal)",
    )


def _fail(message: str) -> int:
    print(f"sesclient: {message}", file=sys.stderr)
    return EXIT_INPUT


def _read_arg(value: str | None) -> str | None:
    if value is None or not value.startswith("@"):
        return value
    with open(value[1:], encoding="utf-8") as stream:
        return stream.read()


def run_bulk(args: argparse.Namespace) -> int:
    """Run ``sesclient bulk``; the exit status."""
    import asyncio
    import json

    from .._errors import SESValidationError
    from ._input import count_recipients, detect_format, read_recipients
    from ._journal import JournalMismatch

    if args.resume and not args.journal:
        return _fail("--resume needs --journal")
    if args.template is None and args.text is None and args.html is None:
        return _fail("give --template, or --text and/or --html")
    try:
        kind = detect_format(args.recipients, args.format)
        text, html = _read_arg(args.text), _read_arg(args.html)
        default_data = _read_arg(args.default_data)
        total = count_recipients(args.recipients, format=kind)
    except (OSError, ValueError) as exc:
        return _fail(str(exc))
    data = None
    if default_data is not None:
        try:
            data = json.loads(default_data)
        except ValueError as exc:
            return _fail(f"--default-data is not valid JSON: {exc}")
        if not isinstance(data, dict):
            return _fail("--default-data must be a JSON object")
    recipients = read_recipients(
        args.recipients, format=kind, template_data=args.template is not None
    )
    options: dict[str, Any] = {
        "from_addr": args.from_addr,
        "template": args.template,
        "subject": args.subject,
        "text": text,
        "html": html,
        "default_template_data": data,
        "reply_to": args.reply_to,
        "configuration_set": args.configuration_set,
        "rate": args.rate,
        "concurrency": args.concurrency,
        "batch_size": args.batch_size,
        "max_attempts": args.max_attempts,
        "journal": args.journal,
        "resume": args.resume,
        "resend_unknown": args.resend_unknown,
        "check_quota": not args.no_quota_check,
        "allow_partial": args.allow_partial,
    }
    show_progress = args.progress if args.progress is not None else sys.stderr.isatty()
    try:
        summary = asyncio.run(_run(args, options, recipients, total, show_progress, args.results))
    except SESValidationError as exc:
        return _fail(exc.message)
    except JournalMismatch as exc:
        return _fail(str(exc))
    except (OSError, ValueError) as exc:
        return _fail(str(exc))
    print(summary, file=sys.stderr)
    if summary.codes:
        detail = ", ".join(f"{code}: {count}" for code, count in sorted(summary.codes.items()))
        print(f"not sent or unknown by code: {detail}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    return 0 if summary.ok else EXIT_NOT_ALL_SENT


async def _run(
    args: argparse.Namespace,
    options: dict[str, Any],
    recipients: Any,
    total: int,
    show_progress: bool,
    results_path: str | None,
) -> Any:
    import json

    from .._client import AsyncSESClient
    from .._retry import RetryPolicy
    from ._progress import Progress
    from ._sender import BulkSender

    progress = Progress(sys.stderr, total=total) if show_progress else None
    results_file = open(results_path, "w", encoding="utf-8") if results_path else None  # noqa: SIM115
    try:

        def on_result(result: Any) -> None:
            if progress is not None:
                progress.update(result)
            if results_file is not None:
                results_file.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")

        # One attempt per request: the bulk sender retries, paced by its rate limiter.
        async with AsyncSESClient(
            args.region,
            api=args.api,
            endpoint_url=args.endpoint_url,
            profile=args.profile,
            retries=RetryPolicy(max_attempts=1),
            max_connections=options["concurrency"],
        ) as client:
            sender = BulkSender(client, on_result=on_result, **options)
            summary = await sender.run(recipients, total=total)
    finally:
        if progress is not None:
            progress.finish()
        if results_file is not None:
            results_file.close()
    return summary
