"""The bulk sender end to end, over loopback against the local SES endpoint.

Edge cases the endpoint does not produce (TRANSIENT_FAILURE entries, FAILED
entries that speak of throttling, replies missing entries) come from an
``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from sesclient import AsyncSESClient, Credentials, SESClient
from sesclient._errors import DailyQuotaExceeded, SESValidationError
from sesclient._retry import RetryPolicy
from sesclient.bulk import (
    BulkSender,
    JournalMismatch,
    Malformed,
    Recipient,
    RecipientResult,
    RunSummary,
    SyncBulkSender,
)
from sesclient.local import LocalSESThread
from sesclient.testing import InboxClient

SENDER = "news@example.com"


@contextmanager
def endpoint(**config: Any) -> Iterator[LocalSESThread]:
    config.setdefault("verified_identities", ("example.com",))
    with LocalSESThread(**config) as server:
        yield server


def credentials(server: LocalSESThread) -> Credentials:
    return Credentials(server.config.access_key_id, server.config.secret_access_key)


def client_for(server: LocalSESThread, api: str = "v2", **kwargs: Any) -> AsyncSESClient:
    kwargs.setdefault("retries", RetryPolicy(max_attempts=1))
    return AsyncSESClient(
        "us-east-1", credentials(server), api=api, endpoint_url=server.url, **kwargs
    )


async def create_template(client: AsyncSESClient, api: str, name: str = "T") -> None:
    if api == "v2":
        await client.v2.create_email_template(
            TemplateName=name,
            TemplateContent={"Subject": "Hi {{name}}", "Text": "Hello {{name}}"},
        )
    else:
        await client.v1.create_template(
            Template={"TemplateName": name, "SubjectPart": "Hi {{name}}", "TextPart": "Hello"}
        )


def people(count: int, domain: str = "example.org", start: int = 0) -> list[Recipient]:
    return [Recipient(f"user{i}@{domain}", {"name": f"U{i}"}) for i in range(start, start + count)]


def send(
    server: LocalSESThread,
    recipients: Any,
    *,
    api: str = "v2",
    template: str | None = "T",
    make_template: bool = True,
    **options: Any,
) -> tuple[RunSummary, list[RecipientResult]]:
    """One run of a BulkSender against ``server``: the summary and every result."""
    options.setdefault("retry_delay", 0.01)
    if template is not None:
        options["template"] = template

    async def go() -> tuple[RunSummary, list[RecipientResult]]:
        async with client_for(server, api) as client:
            if make_template and template is not None:
                await create_template(client, api, template)
            sender = BulkSender(client, from_addr=SENDER, **options)
            results = []
            async with sender.results(recipients) as run:
                async for result in run:
                    results.append(result)
            assert run.summary is not None
            return run.summary, results

    return asyncio.run(go())


def inbox(server: LocalSESThread) -> InboxClient:
    return InboxClient(server.url)


def delivered(server: LocalSESThread) -> Counter[str]:
    """How many accepted messages went to each address."""
    counts: Counter[str] = Counter()
    for message in inbox(server).messages():
        for address in message["to"]:
            counts[address] += 1
    return counts


# -- batching and content -------------------------------------------------------------


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_template_run_sends_fifty_recipients_per_call(api: str) -> None:
    with endpoint() as server:
        summary, results = send(server, people(120), api=api)
        messages = inbox(server).messages()
    assert (summary.sent, summary.failed, summary.unknown) == (120, 0, 0)
    assert summary.requests == 3
    assert summary.ok
    operation = "SendBulkEmail" if api == "v2" else "SendBulkTemplatedEmail"
    assert {message["operation"] for message in messages} == {operation}
    by_id = {message["message_id"]: message for message in messages}
    for result in results:
        assert result.status == "sent"
        assert result.attempts == 1
        message = by_id[result.message_id]
        assert message["to"] == [result.address]
    if api == "v2":
        user7 = next(m for m in messages if m["to"] == ["user7@example.org"])
        assert user7["subject"] == "Hi U7"


def test_batch_size_is_honoured() -> None:
    with endpoint() as server:
        summary, _ = send(server, people(35), batch_size=10)
    assert summary.requests == 4
    assert summary.sent == 35


def test_content_run_sends_each_recipient_on_its_own() -> None:
    recipients = [
        "a@example.org",
        {"address": "b@example.org"},
        Recipient("c@example.org", subject="Own", text="own body"),
    ]
    with endpoint() as server:
        summary, results = send(
            server, recipients, template=None, subject="News", text="Hello", html="<p>Hello</p>"
        )
        messages = {m["to"][0]: m for m in inbox(server).messages()}
    assert summary.sent == 3
    assert summary.requests == 3
    assert messages["a@example.org"]["subject"] == "News"
    assert messages["a@example.org"]["html"] == "<p>Hello</p>"
    assert messages["c@example.org"]["subject"] == "Own"
    assert messages["c@example.org"]["text"] == "own body"
    assert {r.address for r in results} == set(messages)


def test_template_run_sends_recipients_with_content_of_their_own_apart() -> None:
    recipients = [*people(3), Recipient("own@example.org", subject="Mine", text="just me")]
    with endpoint() as server:
        summary, _ = send(server, recipients)
        messages = {m["to"][0]: m for m in inbox(server).messages()}
    assert summary.sent == 4
    assert summary.requests == 2
    assert messages["own@example.org"]["operation"] == "SendEmail"
    assert messages["own@example.org"]["subject"] == "Mine"
    assert messages["user1@example.org"]["operation"] == "SendBulkEmail"


def test_async_iterable_input_and_callbacks() -> None:
    seen: list[str] = []
    awaited: list[str] = []

    async def source() -> AsyncIterator[str]:
        for i in range(60):
            if i % 20 == 0:
                await asyncio.sleep(0.001)
            yield f"user{i}@example.org"

    async def record(result: RecipientResult) -> None:
        awaited.append(result.address)

    with endpoint() as server:
        summary, results = send(server, source(), on_result=lambda r: seen.append(r.address))
        summary2, _ = send(server, ["x@example.org"], on_result=record, make_template=False)
    assert summary.sent == 60
    assert sorted(seen) == sorted(r.address for r in results)
    assert len(seen) == 60
    assert awaited == ["x@example.org"]
    assert summary2.sent == 1


# -- input checking -------------------------------------------------------------------


def test_bad_recipients_fail_alone_and_are_never_sent() -> None:
    recipients: list[Any] = [
        "good1@example.org",
        "not-an-address",
        42,
        {"adress": "typo@example.org"},
        Malformed("line 5: not valid JSON", ""),
        {"address": "d@example.org", "data": "not a dict"},
        Recipient("big@example.org", {"blob": "x" * 300_000}),
        Recipient("dup@example.org", id="same"),
        Recipient("dup2@example.org", id="same"),
        "good2@example.org",
    ]
    with endpoint() as server:
        summary, results = send(server, recipients)
        assert delivered(server) == Counter(
            {"good1@example.org": 1, "good2@example.org": 1, "dup@example.org": 1}
        )
    assert summary.sent == 3
    assert summary.failed == 7
    failed = [r for r in results if r.status == "failed"]
    assert all(r.attempts == 0 and not r.retryable and r.message for r in failed)
    codes = Counter(r.code for r in failed)
    assert codes == {"ValidationError": 5, "InvalidInput": 1, "DuplicateRecipient": 1}
    assert summary.codes == dict(codes)
    assert sorted(r.position for r in results) == list(range(10))


def test_sender_options_are_checked_up_front() -> None:
    client = AsyncSESClient("us-east-1", Credentials("AKIDEXAMPLE", "x"), endpoint_url="http://h")
    with pytest.raises(SESValidationError):
        BulkSender(client, from_addr="not an address", template="T")
    with pytest.raises(SESValidationError):
        BulkSender(client, from_addr=SENDER, template="T", subject="S")
    with pytest.raises(SESValidationError):
        BulkSender(client, from_addr=SENDER, subject="S")
    with pytest.raises(SESValidationError):
        BulkSender(client, from_addr=SENDER, text="x", default_template_data={"a": 1})
    for bad in ({"concurrency": 0}, {"batch_size": 51}, {"rate": 0}, {"max_attempts": 0}):
        with pytest.raises(ValueError):
            BulkSender(client, from_addr=SENDER, template="T", **bad)


def test_template_data_in_a_content_run_fails_that_recipient() -> None:
    with endpoint() as server:
        summary, results = send(
            server,
            [Recipient("a@example.org", {"x": 1}), "b@example.org"],
            template=None,
            text="plain",
        )
    assert summary.sent == 1
    assert results[0].code == "ValidationError" or results[1].code == "ValidationError"


# -- throttling, partial failures, retries --------------------------------------------


def test_throttled_recipients_are_requeued_not_failed() -> None:
    # The sender is told the rate is far higher than the endpoint allows.
    with endpoint(max_send_rate=300) as server:
        summary, results = send(server, people(700), rate=1500, max_attempts=30)
        stats = inbox(server).stats()
        counts = delivered(server)
    assert summary.throttled > 0
    assert stats["throttled"] > 0
    assert (summary.sent, summary.failed, summary.unknown) == (700, 0, 0)
    assert stats["duplicates"] == 0
    assert stats["accepted"] == 700
    assert set(counts.values()) == {1}
    assert summary.retries >= summary.throttled
    assert max(r.attempts for r in results) > 1


def test_rate_is_seeded_from_the_account() -> None:
    with endpoint(max_send_rate=2000) as server:
        summary, _ = send(server, people(100))
    assert summary.sent == 100


def test_sandbox_rejections_fail_only_those_entries_and_are_not_retried() -> None:
    recipients = [
        *people(3, domain="example.com"),
        *people(2, domain="unverified.org", start=3),
    ]
    with endpoint(sandbox=True) as server:
        summary, results = send(server, recipients)
    assert summary.requests == 1
    assert summary.sent == 3
    rejected = [r for r in results if r.status == "failed"]
    assert {r.address for r in rejected} == {"user3@unverified.org", "user4@unverified.org"}
    assert all(r.code == "MESSAGE_REJECTED" and not r.retryable for r in rejected)
    assert all(r.attempts == 1 for r in rejected)


class FakeSES:
    """Answers SendBulkEmail from a script of entry statuses, recording what it was sent."""

    def __init__(self, script: list[list[dict[str, Any]]]) -> None:
        self.script = script
        self.calls: list[list[str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        addresses = [e["Destination"]["ToAddresses"][0] for e in body["BulkEmailEntries"]]
        self.calls.append(addresses)
        if len(self.calls) <= len(self.script):
            statuses = self.script[len(self.calls) - 1]
        else:
            statuses = [{"Status": "SUCCESS", "MessageId": f"m-{a}"} for a in addresses]
        return httpx.Response(200, json={"BulkEmailEntryResults": statuses})


def run_against(fake: FakeSES, recipients: list[Any], **options: Any) -> list[RecipientResult]:
    async def go() -> list[RecipientResult]:
        http = httpx.AsyncClient(transport=httpx.MockTransport(fake))
        client = AsyncSESClient(
            "us-east-1",
            Credentials("AKIDEXAMPLE", "secret"),
            endpoint_url="http://ses.test",
            http_client=http,
            retries=1,
        )
        sender = BulkSender(
            client,
            from_addr=SENDER,
            template="T",
            rate=10_000,
            check_quota=False,
            retry_delay=0.001,
            **options,
        )
        try:
            return [result async for result in sender.results(recipients)]
        finally:
            await http.aclose()

    return asyncio.run(go())


def test_partial_bulk_failure_retries_only_the_retryable_entries() -> None:
    fake = FakeSES(
        [
            [
                {"Status": "SUCCESS", "MessageId": "m0"},
                {"Status": "TRANSIENT_FAILURE", "Error": "try later"},
                {"Status": "FAILED", "Error": "Maximum sending rate exceeded."},
                {"Status": "FAILED", "Error": "something broke"},
                {"Status": "MESSAGE_REJECTED", "Error": "Email address is on the list"},
                {"Status": "INVALID_PARAMETER", "Error": "bad"},
                {"Status": "ACCOUNT_THROTTLED", "Error": "slow down"},
            ],
        ]
    )
    results = run_against(fake, [f"r{i}@example.org" for i in range(7)])
    retried = [address for call in fake.calls[1:] for address in call]
    assert sorted(retried) == ["r1@example.org", "r2@example.org", "r6@example.org"]
    by_address = {r.address: r for r in results}
    assert by_address["r0@example.org"].message_id == "m0"
    for address in ("r1@example.org", "r2@example.org", "r6@example.org"):
        assert by_address[address].status == "sent"
        assert by_address[address].attempts == 2
    assert by_address["r3@example.org"].code == "FAILED"
    assert by_address["r4@example.org"].code == "MESSAGE_REJECTED"
    assert by_address["r5@example.org"].code == "INVALID_PARAMETER"
    assert all(not by_address[f"r{i}@example.org"].retryable for i in (3, 4, 5))


def test_retries_stop_at_max_attempts() -> None:
    transient = {"Status": "TRANSIENT_FAILURE", "Error": "still down"}
    fake = FakeSES([[transient]] * 3)
    (result,) = run_against(fake, ["r@example.org"], max_attempts=3)
    assert len(fake.calls) == 3
    assert result.status == "failed"
    assert result.retryable
    assert result.attempts == 3
    assert "gave up after 3 attempts" in (result.message or "")


def test_reply_missing_entries_leaves_them_unknown() -> None:
    fake = FakeSES([[{"Status": "SUCCESS", "MessageId": "m0"}]])
    results = run_against(fake, ["a@example.org", "b@example.org"])
    assert [r.status for r in results] == ["sent", "unknown"]
    assert results[1].code == "MissingEntryResult"


def test_server_errors_and_lost_connections_are_retried() -> None:
    with endpoint(error_rate=0.3, seed=7) as server:
        summary, _ = send(server, people(300), batch_size=10, max_attempts=20)
        stats = inbox(server).stats()
    faults = stats["faults"]
    assert faults["internal_error"] + faults["service_unavailable"] > 0
    assert summary.sent == 300
    assert summary.retries > 0
    assert stats["duplicates"] == 0


def test_ambiguous_outcomes_are_reported_unknown() -> None:
    with endpoint(reset_after_rate=1.0) as server:
        summary, results = send(server, people(60), batch_size=20)
        stats = inbox(server).stats()
    assert summary.unknown == 60
    assert summary.sent == 0
    assert {r.code for r in results} == {"SendOutcomeUnknown"}
    # The endpoint did take them: reporting them as failed would have been wrong.
    assert stats["accepted"] == 60


def test_every_recipient_is_accounted_for_under_mixed_faults() -> None:
    config = {
        "throttle_rate": 0.1,
        "error_rate": 0.05,
        "reset_before_rate": 0.02,
        "reset_after_rate": 0.02,
        "seed": 3,
    }
    with endpoint(**config) as server:
        summary, results = send(server, people(800), batch_size=10, max_attempts=20)
        stats = inbox(server).stats()
        counts = delivered(server)
    assert len(results) == 800
    assert len({r.key for r in results}) == 800
    assert summary.total == 800
    assert stats["duplicates"] == 0
    for result in results:
        if result.status == "sent":
            assert counts[result.address] == 1
        elif result.status == "failed":
            assert counts[result.address] == 0
        else:
            assert counts[result.address] <= 1
    faults = stats["faults"]
    # A reset connection leaves its recipients unknown, whichever side of processing it hit.
    assert (summary.unknown > 0) == (faults["reset_before"] + faults["reset_after"] > 0)


# -- daily quota and account-wide failures --------------------------------------------


def test_daily_quota_too_small_refuses_to_start() -> None:
    with endpoint(max_24h_send=50) as server:
        with pytest.raises(DailyQuotaExceeded, match="80 recipients"):
            send(server, people(80))
        assert inbox(server).stats()["accepted"] == 0


def test_daily_quota_allow_partial_sends_what_fits_and_journals_the_rest(tmp_path) -> None:
    journal = tmp_path / "run.db"
    with endpoint(max_24h_send=50) as server:
        summary, results = send(server, people(80), allow_partial=True, journal=journal)
        assert inbox(server).stats()["accepted"] == 50
    assert (summary.sent, summary.failed) == (50, 30)
    assert summary.stopped == "DailyQuotaExceeded"
    rest = [r for r in results if r.status == "failed"]
    assert all(r.code == "DailyQuotaExceeded" and r.retryable for r in rest)
    with sqlite3.connect(journal) as db:
        states = dict(db.execute("SELECT state, COUNT(*) FROM recipients GROUP BY state"))
    assert states == {"sent": 50, "not_sent": 30}

    # Tomorrow (a fresh quota): the resumed run sends only the rest.
    with endpoint(max_24h_send=50) as server:
        summary, results = send(server, people(80), journal=journal, resume=True)
        assert inbox(server).stats()["accepted"] == 30
    assert (summary.sent, summary.failed, summary.previous) == (80, 0, 50)


@pytest.mark.parametrize("content", [False, True])
def test_daily_quota_reported_by_ses_stops_the_run(content: bool) -> None:
    def generator() -> Iterator[Recipient | str]:
        for recipient in people(130):
            yield recipient.address if content else recipient

    options: dict[str, Any] = {"check_quota": False, "batch_size": 25}
    if content:
        options.update(template=None, subject="S", text="T")
    with endpoint(max_24h_send=100) as server:
        summary, results = send(server, generator(), concurrency=2, **options)
        accepted = inbox(server).stats()["accepted"]
    assert accepted == 100
    assert summary.sent == 100
    assert summary.failed == 30
    assert summary.stopped == "DailyQuotaExceeded"
    assert {r.code for r in results if r.status == "failed"} == {"DailyQuotaExceeded"}
    assert len({r.key for r in results}) == 130


def test_missing_template_stops_the_run_instead_of_failing_each_batch() -> None:
    with endpoint() as server:
        summary, results = send(
            server, people(500), template="Nope", make_template=False, concurrency=2
        )
    assert summary.sent == 0
    assert summary.failed == 500
    assert summary.stopped is not None
    assert summary.requests <= 2
    assert all(r.retryable and r.code == summary.stopped for r in results)


# -- journal and resume ---------------------------------------------------------------


def test_interrupted_run_resumes_without_sending_twice(tmp_path) -> None:
    journal = tmp_path / "run.db"
    recipients = people(300)
    with endpoint(latency_ms=100) as server:

        async def interrupted() -> list[RecipientResult]:
            async with client_for(server) as client:
                await create_template(client, "v2")
                sender = BulkSender(
                    client,
                    from_addr=SENDER,
                    template="T",
                    batch_size=10,
                    concurrency=4,
                    journal=journal,
                )
                seen = []
                async with sender.results(recipients) as run:
                    async for result in run:
                        seen.append(result)
                        if len(seen) >= 60:
                            # Let the sender launch the next requests, then stop it mid-flight.
                            await asyncio.sleep(0.01)
                            break
                return seen

        first = asyncio.run(interrupted())
        with sqlite3.connect(journal) as db:
            in_flight = db.execute(
                "SELECT COUNT(*) FROM recipients WHERE state='in_flight'"
            ).fetchone()[0]
        assert in_flight > 0

        with pytest.raises(JournalMismatch):
            send(server, recipients, journal=journal, make_template=False)
        summary, second = send(
            server, recipients, journal=journal, resume=True, make_template=False
        )
        stats = inbox(server).stats()
        counts = delivered(server)

    assert stats["duplicates"] == 0
    assert set(counts.values()) == {1}
    assert len(second) == 300
    assert summary.total == 300
    previous = [r for r in second if r.previous]
    assert summary.previous == len(previous)
    assert {r.key for r in first if r.status == "sent"} <= {
        r.key for r in previous if r.status == "sent"
    }
    unknown = [r for r in second if r.status == "unknown"]
    assert len(unknown) == in_flight
    assert all(r.previous and r.code == "SendOutcomeUnknown" for r in unknown)
    for result in second:
        if result.status == "sent":
            assert counts[result.address] == 1
    # Everything the endpoint took is either reported sent or was in flight at the stop.
    assert sum(counts.values()) <= summary.sent + summary.unknown


def test_resume_can_resend_unknown_recipients(tmp_path) -> None:
    journal = tmp_path / "run.db"
    with endpoint(reset_after_rate=1.0) as server:
        summary, _ = send(server, people(5), journal=journal)
    assert summary.unknown == 5
    with endpoint() as server:
        summary, results = send(server, people(5), journal=journal, resume=True)
        assert summary.unknown == 5 and summary.previous == 5
        summary, results = send(
            server,
            people(5),
            journal=journal,
            resume=True,
            resend_unknown=True,
            make_template=False,
        )
    assert summary.sent == 5
    assert summary.previous == 0
    assert all(r.attempts == 2 for r in results)


def test_resume_refuses_a_different_run(tmp_path) -> None:
    journal = tmp_path / "run.db"
    with endpoint() as server:
        send(server, people(3), journal=journal)
        with pytest.raises(JournalMismatch, match="different run"):
            send(server, people(3), template="Other", journal=journal, resume=True)


# -- sync wrapper ---------------------------------------------------------------------


def test_sync_sender_with_a_sync_client() -> None:
    callers: set[int] = set()
    with endpoint() as server:
        with SESClient(
            "us-east-1", credentials(server), endpoint_url=server.url, api="v1"
        ) as client:
            client.v1.create_template(
                Template={"TemplateName": "T", "SubjectPart": "S {{name}}", "TextPart": "x"}
            )
            sender = SyncBulkSender(
                client,
                from_addr=SENDER,
                template="T",
                on_result=lambda r: callers.add(threading.get_ident()),
            )
            summary = sender.run(people(70))
            run = sender.results(["a@example.org", "bad"])
            statuses = sorted(r.status for r in run)
        messages = inbox(server).messages()
    assert summary.sent == 70
    assert summary.requests == 2
    assert callers == {threading.get_ident()}
    assert statuses == ["failed", "sent"]
    assert run.summary is not None and run.summary.total == 2
    assert {m["operation"] for m in messages} == {"SendBulkTemplatedEmail"}


def test_sync_sender_with_a_client_factory_and_early_close() -> None:
    with endpoint(latency_ms=10) as server:
        with SESClient("us-east-1", credentials(server), endpoint_url=server.url) as client:
            client.v2.create_email_template(
                TemplateName="T", TemplateContent={"Subject": "S", "Text": "x"}
            )
        sender = SyncBulkSender(
            lambda: client_for(server), from_addr=SENDER, template="T", batch_size=5
        )
        with sender.results(people(200)) as run:
            first = next(run)
        assert first.status == "sent"
        assert run.summary is None
        assert sender.run(people(3)).sent == 3
    with pytest.raises(TypeError):
        SyncBulkSender(object(), from_addr=SENDER, template="T")  # type: ignore[arg-type]
    with pytest.raises(SESValidationError):
        SyncBulkSender(lambda: None, from_addr="bad", template="T")  # type: ignore[arg-type,return-value]


def test_sync_sender_sends_through_the_shared_sync_client_on_threads(monkeypatch) -> None:
    from sesclient import _client

    def no_async_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("the sync path must not make an AsyncSESClient")

    monkeypatch.setattr(_client.AsyncSESClient, "__init__", no_async_client)
    threads: set[str] = set()
    with endpoint() as server:
        with SESClient("us-east-1", credentials(server), endpoint_url=server.url) as client:
            client.v2.create_email_template(
                TemplateName="T", TemplateContent={"Subject": "S {{name}}", "Text": "x"}
            )
            real_send = client._transport.handle_request

            def spy(request):  # every request goes out through this client's own pool
                threads.add(threading.current_thread().name)
                return real_send(request)

            monkeypatch.setattr(client._transport, "handle_request", spy)
            summary = SyncBulkSender(
                client, from_addr=SENDER, template="T", concurrency=4, batch_size=10
            ).run(people(100))
            during_run = set(threads)
            # the shared client is still open and usable after the run
            assert client.v2.get_account()["SendQuota"]
        messages = inbox(server).messages()
    assert summary.sent == 100 and summary.requests == 10
    assert len(messages) == 100
    assert during_run and all(name.startswith("sesclient-bulk") for name in during_run)
