"""The pure parts of the bulk sender: rate limiter, input, journal, results, progress."""

from __future__ import annotations

import io
import json
import sqlite3

import pytest

from sesclient._errors import SESValidationError
from sesclient.bulk._input import (
    Malformed,
    Recipient,
    coerce_recipient,
    count_recipients,
    detect_format,
    read_recipients,
)
from sesclient.bulk._journal import Journal, JournalMismatch
from sesclient.bulk._limiter import RateLimiter
from sesclient.bulk._progress import Progress, format_duration
from sesclient.bulk._result import RecipientResult, RunSummary


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# -- rate limiter ---------------------------------------------------------------------


def test_bucket_starts_full_and_paces_in_debt() -> None:
    clock = FakeClock()
    limiter = RateLimiter(100.0, clock=clock)
    assert limiter.burst == 100.0
    assert limiter.reserve(50) == 0.0
    assert limiter.reserve(50) == 0.0
    # Empty now: 50 more take half a second at 100/s.
    assert limiter.reserve(50) == pytest.approx(0.5)
    # The next reservation waits for that debt as well.
    assert limiter.reserve(50) == pytest.approx(1.0)
    clock.advance(1.0)
    assert limiter.reserve(10) == pytest.approx(0.1)


def test_bucket_never_holds_more_than_a_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(20.0, initial_tokens=0, clock=clock)
    assert limiter.reserve(10) == pytest.approx(0.5)
    clock.advance(60.0)
    assert limiter.tokens < 21
    assert limiter.reserve(20) == 0.0
    assert limiter.reserve(1) == pytest.approx(0.05)


def test_refund_gives_tokens_back() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10.0, initial_tokens=10, clock=clock)
    limiter.reserve(10)
    limiter.refund(4)
    assert limiter.reserve(4) == 0.0
    assert limiter.reserve(1) > 0.0


def test_max_batch_fits_the_bucket_at_the_ceiling() -> None:
    assert RateLimiter(14.0).max_batch(50) == 14
    assert RateLimiter(1000.0).max_batch(50) == 50
    assert RateLimiter(0.5).max_batch(50) == 1
    assert RateLimiter(None).max_batch(50) == 50


def test_throttle_decreases_once_per_congestion_event() -> None:
    clock = FakeClock()
    limiter = RateLimiter(100.0, cooldown=1.0, recovery=0.0, clock=clock)
    sent_early = limiter.now()
    clock.advance(0.1)
    assert limiter.throttled(sent_early) is True
    assert limiter.rate == pytest.approx(70.0)
    # Replies to requests sent before the decrease belong to the same event...
    clock.advance(2.0)
    assert limiter.throttled(sent_early) is False
    # ...and so do replies within the cooldown, even to requests sent after it.
    sent_late = limiter.now()
    clock.advance(0.1)
    limiter._decreased = clock.now - 0.5  # a decrease half a second ago
    assert limiter.throttled(sent_late) is False
    assert limiter.rate == pytest.approx(70.0)
    # A request sent after the decrease, throttled once the cooldown is over: a new event.
    clock.advance(1.0)
    assert limiter.throttled(clock.now - 0.2) is True
    assert limiter.rate == pytest.approx(49.0)
    assert limiter.decreases == 2


def test_throttle_empties_the_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter(100.0, clock=clock)
    limiter.throttled()
    assert limiter.tokens <= 0
    assert limiter.reserve(7) == pytest.approx(0.1)


def test_recovery_is_additive_and_stops_at_the_ceiling() -> None:
    clock = FakeClock()
    limiter = RateLimiter(100.0, recovery=0.05, clock=clock)
    limiter.reserve(0)
    assert limiter.rate == 100.0  # nothing to recover from
    limiter.throttled()
    assert limiter.rate == pytest.approx(70.0)
    clock.advance(2.0)  # +5/s
    limiter.reserve(0)
    assert limiter.rate == pytest.approx(80.0)
    clock.advance(100.0)
    limiter.reserve(0)
    assert limiter.rate == 100.0


def test_rate_never_drops_below_the_floor() -> None:
    clock = FakeClock()
    limiter = RateLimiter(200.0, recovery=0.0, cooldown=0.0, clock=clock)
    for _ in range(30):
        clock.advance(0.01)
        limiter.throttled()
    assert limiter.rate == pytest.approx(20.0)  # a tenth of the reference
    explicit = RateLimiter(200.0, floor=5.0, recovery=0.0, cooldown=0.0, clock=clock)
    for _ in range(30):
        clock.advance(0.01)
        explicit.throttled()
    assert explicit.rate == 5.0
    assert RateLimiter(0.5).floor == 0.5


def test_random_throttling_does_not_stall_the_run() -> None:
    # A throttle after every request, whatever the rate: it settles, it does not collapse.
    clock = FakeClock()
    limiter = RateLimiter(1000.0, clock=clock)
    for _ in range(2000):
        sent = limiter.now()
        clock.advance(limiter.reserve(10) + 0.001)
        limiter.throttled(sent)
    assert 100.0 <= limiter.rate < 1000.0


def test_unlimited_until_throttled_then_paced_from_what_went_out() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock)
    for _ in range(20):
        assert limiter.reserve(50) == 0.0
        clock.advance(0.05)
    # 1000 recipients/s went out; the limiter now paces at 70% of that.
    assert limiter.throttled() is True
    assert limiter.rate == pytest.approx(700.0, rel=0.06)
    rate = limiter.rate
    assert limiter.reserve(70) == pytest.approx(70 / rate)
    # Without a ceiling it keeps probing upwards.
    clock.advance(20.0)
    limiter.reserve(0)
    assert limiter.rate > 1000.0


def test_unlimited_pace_is_measured_over_the_time_it_was_sending() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock)
    limiter.reserve(100)
    clock.advance(0.1)
    limiter.reserve(100)
    limiter.throttled()
    # 200 recipients in a tenth of a second is 2000/s, not 200/s.
    assert limiter.rate == pytest.approx(1400.0)


def test_limiter_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0)
    with pytest.raises(ValueError):
        RateLimiter(10.0, decrease=1.5)


# -- recipients -----------------------------------------------------------------------


def test_coerce_accepts_strings_dicts_and_recipients() -> None:
    assert coerce_recipient("a@example.com") == Recipient("a@example.com")
    assert coerce_recipient({"email": "a@example.com", "data": {"n": 1}, "id": 7}) == Recipient(
        "a@example.com", {"n": 1}, id="7"
    )
    recipient = Recipient("b@example.com", subject="S", text="T")
    assert coerce_recipient(recipient) is recipient


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (42, "recipient"),
        ({"adress": "typo@example.com"}, "recipient"),
        ({"address": ""}, "address"),
        ({"address": "a@example.com", "data": [1, 2]}, "template_data"),
        ({"address": "a@example.com", "text": 5}, "text"),
        ({"address": "a@example.com", "subject": "only a subject"}, "subject"),
        ({"address": "a@example.com", "id": 1.5}, "id"),
    ],
)
def test_coerce_names_what_is_wrong(value: object, field: str) -> None:
    with pytest.raises(SESValidationError) as info:
        coerce_recipient(value)
    assert info.value.field == field


def test_csv_columns_become_template_data(tmp_path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "Email,name,id,city\na@example.com,Ann,1,Oslo\n\nb@example.com,Bob,,Rome\nc@x.com,short\n",
        encoding="utf-8",
    )
    rows = list(read_recipients(path))
    assert rows[0] == Recipient("a@example.com", {"name": "Ann", "city": "Oslo"}, id="1")
    assert rows[1] == Recipient("b@example.com", {"name": "Bob", "city": "Rome"})
    assert isinstance(rows[2], Malformed)
    assert rows[2].address == "c@x.com"
    assert "fields" in rows[2].reason
    assert count_recipients(path) == 3
    first = next(iter(read_recipients(path, template_data=False)))
    assert first == Recipient("a@example.com", id="1")


def test_csv_semicolons_and_missing_address_column(tmp_path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("address;first\na@example.com;A\n", encoding="utf-8")
    assert list(read_recipients(path)) == [Recipient("a@example.com", {"first": "A"})]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,city\nx,y\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no 'email' or 'address' column"):
        list(read_recipients(bad))


def test_jsonl_nested_flat_content_and_bad_lines(tmp_path) -> None:
    path = tmp_path / "r.jsonl"
    lines = [
        {"email": "a@example.com", "data": {"n": 1}, "id": "x"},
        {"email": "b@example.com", "n": 2, "m": "z"},
        {"address": "c@example.com", "subject": "S", "text": "T", "ignored": 1},
        {"email": "d@example.com", "data": {}, "stray": 1},
        [1, 2],
        {"name": "no address"},
    ]
    path.write_text(
        "\n".join(json.dumps(line) for line in lines) + "\n{broken\n\n", encoding="utf-8"
    )
    rows = list(read_recipients(path))
    assert rows[0] == Recipient("a@example.com", {"n": 1}, id="x")
    assert rows[1] == Recipient("b@example.com", {"n": 2, "m": "z"})
    assert rows[2] == Recipient("c@example.com", None, "S", "T")
    assert [type(row) for row in rows[3:]] == [Malformed] * 4
    assert "not valid JSON" in rows[6].reason
    assert count_recipients(path) == 7


def test_detect_format() -> None:
    assert detect_format("x.CSV") == "csv"
    assert detect_format("x.jsonl") == "jsonl"
    assert detect_format("x.dat", "jsonl") == "jsonl"
    with pytest.raises(ValueError):
        detect_format("x.dat")
    with pytest.raises(ValueError):
        detect_format("x.csv", "xml")


# -- journal --------------------------------------------------------------------------


def test_journal_records_states_and_survives_reopening(tmp_path) -> None:
    path = tmp_path / "run.db"
    run = {"from": "a@example.com", "template": "T"}
    journal = Journal(path)
    assert journal.open(run, resume=False) is False
    journal.mark_in_flight([("k1", 0, "a@example.com", 1), ("k2", 1, "b@example.com", 1)])
    journal.record("k1", 0, "a@example.com", "sent", attempts=1, message_id="m-1")
    # Not committed yet: another connection still sees the in-flight mark.
    other = sqlite3.connect(path)
    assert other.execute("SELECT state FROM recipients WHERE key='k1'").fetchone() == ("in_flight",)
    journal.close()
    assert other.execute("SELECT state FROM recipients WHERE key='k1'").fetchone() == ("sent",)
    assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    other.close()

    with pytest.raises(JournalMismatch, match="resume"):
        Journal(path).open(run, resume=False)
    with pytest.raises(JournalMismatch, match="different run"):
        Journal(path).open({**run, "template": "U"}, resume=True)
    journal = Journal(path)
    assert journal.open(run, resume=True) is True
    assert journal.lookup("k1") == ("sent", 1, "m-1", None, None, False)
    assert journal.lookup("k2").state == "in_flight"
    assert journal.lookup("nope") is None
    assert journal.counts() == {"sent": 1, "in_flight": 1}
    assert journal.settled() == 2
    journal.close()


def test_journal_without_recipients_can_be_reused_for_another_run(tmp_path) -> None:
    path = tmp_path / "run.db"
    Journal(path).open({"template": "A"}, resume=False)
    journal = Journal(path)
    assert journal.open({"template": "B"}, resume=False) is False
    journal.close()


def test_journal_rejects_unknown_synchronous_mode(tmp_path) -> None:
    with pytest.raises(ValueError):
        Journal(tmp_path / "x.db", synchronous="OFF")


# -- results and progress -------------------------------------------------------------


def test_result_and_summary_dicts() -> None:
    result = RecipientResult("0:a@x.com", "a@x.com", "failed", code="MessageRejected", attempts=1)
    assert result.to_dict() == {
        "address": "a@x.com",
        "status": "failed",
        "code": "MessageRejected",
        "retryable": False,
        "attempts": 1,
        "key": "0:a@x.com",
    }
    assert not result.ok
    summary = RunSummary(sent=3, failed=1, unknown=1, elapsed=2.0, rate=1.5, codes={"X": 2})
    assert summary.total == 5
    assert not summary.ok
    assert summary.to_dict()["codes"] == {"X": 2}
    assert "5 recipients: 3 sent, 1 failed, 1 unknown" in str(summary)
    assert RunSummary(sent=2, failed=0, unknown=0).ok


def test_progress_line_counts_rate_and_eta() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    progress = Progress(stream, total=10, interval=0.0, width=200, clock=clock)
    clock.advance(2.0)
    for status in ("sent", "sent", "failed", "unknown"):
        progress.update(RecipientResult("k", "a@x.com", status))
    line = progress.line()
    assert line.startswith("4/10  40.0%")
    assert "sent 2 failed 1 unknown 1" in line
    assert "2.0/s" in line
    assert "ETA 0:03" in line
    progress.finish()
    assert stream.getvalue().endswith("\n")
    assert "\r" in stream.getvalue()
    assert format_duration(3725) == "1:02:05"


def test_decrease_follows_the_share_of_throttled_recipients() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1000.0, recovery=0.0, cooldown=0.0, clock=clock)
    # Almost everything throttled: the rate is far above the limit, halve it.
    limiter.answered(100, 95)
    limiter.throttled()
    assert limiter.rate == pytest.approx(500.0)
    # One in ten throttled: cut by a tenth.
    clock.advance(0.1)
    limiter.answered(100, 10)
    limiter.throttled()
    assert limiter.rate == pytest.approx(450.0)
    # A single throttle among many sends still cuts by at least a tenth.
    clock.advance(0.1)
    limiter.answered(10_000, 1)
    limiter.throttled()
    assert limiter.rate == pytest.approx(405.0)
