"""The Mailchimp adapter against the sandbox: paging, limits, retries, errors, tag write-back."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime

import pytest

from syncbot.config import Secret
from syncbot.mailchimp.client import MailchimpAudience, MailchimpError
from syncbot.sandbox import Faults, Sandbox
from syncbot.sandbox.generator import generate_audience
from tests.conftest import LIST_ID, NOW


def make(sandbox: Sandbox, **options) -> MailchimpAudience:
    options.setdefault("sleep", lambda s: None)
    return MailchimpAudience(Secret(sandbox.mailchimp.api_key), LIST_ID,
                             session=sandbox.session(), **options)


@pytest.fixture
def box() -> Sandbox:
    sandbox = Sandbox(sleep=lambda s: None)
    sandbox.mailchimp.clock = lambda: NOW
    sandbox.mailchimp.add_audience(LIST_ID)
    return sandbox


def add(box: Sandbox, n: int, **fields) -> list[str]:
    return [box.mailchimp.add_member(LIST_ID, f"Lead{i}@Example.com", **fields).email_address
            for i in range(n)]


def test_members_are_paged_past_1000_with_trimmed_fields(box):
    add(box, 2345)
    api = make(box)
    members = api.members()
    assert len(members) == 2345 and len({m["email_address"] for m in members}) == 2345
    assert api.requests == 3
    assert "ip_opt" not in members[0] and "tags" not in members[0]  # fields were trimmed
    assert set(members[0]) >= {"email_address", "status", "merge_fields", "stats", "member_rating"}


def test_more_than_500_changes_per_tag_are_split(box):
    emails = add(box, 1234)
    api = make(box)
    ids, created = api.resolve_tags(["lead:hot"], create=True)
    report = api.write_tags(ids, {"lead:hot": emails}, {})
    assert report.added == 1234 and report.errors == [] and created == ["lead:hot"]
    assert box.mailchimp_host.count("POST", f"/segments/{ids['lead:hot']}") == 3  # 500+500+234
    report = api.write_tags(ids, {}, {"lead:hot": emails[:700]})
    assert report.removed == 700
    assert len(box.mailchimp.segment_by_name(LIST_ID, "lead:hot").members) == 534


def test_adds_and_removes_share_calls_and_per_address_errors_are_collected(box):
    emails = add(box, 10)
    box.mailchimp.create_segment(LIST_ID, "lead:hot", emails=emails[:5])
    api = make(box)
    ids, _ = api.resolve_tags(["lead:hot"], create=False)
    report = api.write_tags(ids, {"lead:hot": emails[5:] + ["left@example.com"]},
                            {"lead:hot": emails[:2]})
    assert (report.added, report.removed) == (5, 2)
    assert report.errors == [("left@example.com", "Email addresses are not subscribed to this list")]
    assert box.mailchimp_host.count("POST", "/segments/") == 1


def test_a_tag_batch_s_answer_is_read_as_its_counts_unless_it_reports_errors(box, monkeypatch):
    """The answer lists every member changed in full; the official client is handed only the
    counts, except when there are per-address errors to collect."""
    import syncbot.mailchimp.client as client_module

    emails = add(box, 600)
    api = make(box)
    ids, _ = api.resolve_tags(["lead:hot"], create=True)
    decoded: list[bytes] = []  # each body the official client decodes
    transport = api.client.api_client.request

    def watched(*args, **kwargs):
        response = transport(*args, **kwargs)
        decoded.append(response.content)
        return response
    monkeypatch.setattr(api.client.api_client, "request", watched)
    report = api.write_tags(ids, {"lead:hot": emails}, {})
    assert report.added == 600 and len(decoded) == 2
    assert all(b"email_address" not in body and len(body) < 100 for body in decoded)
    report = api.write_tags(ids, {"lead:hot": ["left@example.com"]}, {"lead:hot": emails[:3]})
    assert report.removed == 3 and report.errors == [
        ("left@example.com", "Email addresses are not subscribed to this list")]
    assert decoded[-1].count(b'"email_address"') == 3  # the whole answer: members and error
    assert client_module.batch_summary(b'{"total_added": 1, "total_removed": 0}') is None


@pytest.mark.parametrize("body, summary", [
    (b'{"members_added": [{"merge_fields": {"NOTE": "\\"total_added\\": 9"}}], '
     b'"errors": [], "total_added": 1, "total_removed": 0, "error_count": 0}',
     {"total_added": 1, "total_removed": 0, "error_count": 0, "errors": []}),
    (b'{"total_added":2,"total_removed":3,"error_count":0}',
     {"total_added": 2, "total_removed": 3, "error_count": 0, "errors": []}),
    (b'{"errors": [{"error": "x"}], "total_added": 0, "total_removed": 0, "error_count": 1}',
     None),
    (b'{"total_added": 1, "total_added": 2, "total_removed": 0, "error_count": 0}', None),
    (b'<html>503</html>', None),
])
def test_batch_summary_finds_counts_as_keys_only(body, summary):
    import json

    from syncbot.mailchimp.client import batch_summary

    found = batch_summary(body)
    assert (json.loads(found) if found is not None else None) == summary


def test_current_membership_comes_from_the_segment_even_past_50_tags(box):
    [busy] = add(box, 1)
    for i in range(60):
        box.mailchimp.create_segment(LIST_ID, f"manual-{i}", emails=[busy])
    box.mailchimp.create_segment(LIST_ID, "lead:hot", emails=[busy])  # the 61st tag
    box.mailchimp.add_member(LIST_ID, "gone@example.com", status="unsubscribed")
    box.mailchimp.create_segment(LIST_ID, "lead:cold", emails=["gone@example.com"])
    api = make(box)
    ids, _ = api.resolve_tags(["lead:hot", "lead:cold"], create=False)
    assert api.tag_members(ids) == {"lead:hot": {busy.lower()}, "lead:cold": {"gone@example.com"}}


def test_missing_tags_are_created_only_when_writing(box):
    api = make(box)
    ids, created = api.resolve_tags(["lead:hot"], create=False)
    assert (ids, created) == ({}, []) and box.mailchimp.segment_by_name(LIST_ID, "lead:hot") is None
    box.mailchimp.create_segment(LIST_ID, "Lead:Warm")
    ids, created = api.resolve_tags(["lead:hot", "lead:warm"], create=True)
    assert created == ["lead:hot"] and set(ids) == {"lead:hot", "lead:warm"}
    assert box.mailchimp.segment_by_name(LIST_ID, "lead:hot").type == "static"


def test_unmanaged_tags_saved_segments_status_and_merge_fields_are_untouched(box):
    generate_audience(box.mailchimp, list_id=LIST_ID, members=300, campaigns=1, now=NOW)
    audience = box.mailchimp.audiences[LIST_ID]
    before = copy.deepcopy({sid: (s.name, s.type, set(s.members))
                            for sid, s in audience.segments.items()})
    members_before = copy.deepcopy(audience.members)
    api = make(box)
    ids, _ = api.resolve_tags(["lead:hot"], create=True)
    everyone = [m.email_address for m in audience.members.values()]
    api.write_tags(ids, {"lead:hot": everyone}, {})
    after = {sid: (s.name, s.type, set(s.members)) for sid, s in audience.segments.items()
             if s.name != "lead:hot"}
    assert after == before
    assert audience.members == members_before


def test_the_connection_limit_holds_under_load():
    sandbox = Sandbox(mailchimp_latency=0.002, sleep=time.sleep)
    sandbox.mailchimp.add_audience(LIST_ID)
    for i in range(30):
        campaign = sandbox.mailchimp.add_campaign(LIST_ID, NOW, recipients=[])
        campaign.recipients = [f"h{i}-{j}" for j in range(2500)]  # three pages each
    for limit in (3, 10):
        api = MailchimpAudience(Secret(sandbox.mailchimp.api_key), LIST_ID, max_connections=limit,
                                session=sandbox.session())
        sandbox.mailchimp_host.peak_in_flight = 0
        result = api.activity({cid: None for cid in sandbox.mailchimp.campaigns})
        assert all(len(entries) == 2500 for entries in result.values())
        assert 2 <= sandbox.mailchimp_host.peak_in_flight <= limit
        assert sandbox.mailchimp_host.rejected_for_connections == 0
        api.close()


@pytest.mark.parametrize("kind", ["429", "500", "503", "timeout", "reset"])
def test_every_transient_failure_is_retried(box, kind):
    add(box, 3)
    slept: list[float] = []
    api = make(box, sleep=slept.append)
    box.mailchimp_host.faults.queue(kind)
    assert len(api.members()) == 3
    assert api.requests == 2 and box.mailchimp_host.requests == 2
    assert len(slept) == 1 and 1.0 <= slept[0] <= 2.0  # first backoff: 1 s plus jitter


def test_backoff_grows_and_honours_retry_after(box):
    add(box, 1)
    slept: list[float] = []
    api = make(box, sleep=slept.append)
    box.mailchimp_host.faults.queue("503", "503", "503", None)
    api.members()
    assert api.requests == 4
    assert [int(s) for s in slept] == [1, 2, 4]  # exponential, jitter below a second
    box.mailchimp_host.faults.retry_after = 7
    box.mailchimp_host.faults.queue("429")
    slept.clear()
    api.members()
    assert slept == [7.0]


def test_retries_are_bounded_and_then_explained(box):
    api = make(box)
    box.mailchimp_host.faults.queue(*["503"] * 10)
    with pytest.raises(MailchimpError) as failed:
        api.members()
    assert api.requests == 6
    assert str(failed.value).startswith(
        "Mailchimp did not answer the audience members request after 6 attempts (last: HTTP 503)")
    assert box.mailchimp.api_key not in str(failed.value)


@pytest.mark.parametrize(("setup", "message"), [
    ("bad key", "Mailchimp rejected the API key (401)"),
    ("bad list", 'Mailchimp has no audience with id "nope" for this API key'),
    ("bad request", "Mailchimp refused the tag update request: 404 Resource Not Found"),
])
def test_client_errors_are_not_retried_and_say_what_to_do(box, setup, message):
    key = box.mailchimp.api_key
    if setup == "bad key":
        key = "ffffffffffffffffffffffffffffffff-us21"
    api = MailchimpAudience(Secret(key), "nope" if setup == "bad list" else LIST_ID,
                            session=box.session(), sleep=lambda s: None)
    with pytest.raises(MailchimpError) as failed:
        if setup == "bad request":
            api.write_tags({"lead:hot": 999}, {"lead:hot": ["a@example.com"]}, {})
        elif setup == "bad list":
            api.info()
        else:
            api.members()
    assert str(failed.value).startswith(message)
    assert api.requests == 1 and key not in str(failed.value)


def test_wrong_data_centre_is_a_clear_401(box):
    wrong_dc = box.mailchimp.api_key.rsplit("-", 1)[0] + "-us5"  # the right key, mistyped suffix
    api = MailchimpAudience(Secret(wrong_dc), LIST_ID, session=box.session(), sleep=lambda s: None)
    with pytest.raises(MailchimpError, match="-usNN ending"):
        api.ping()


def test_the_session_is_pooled_with_explicit_timeouts():
    api = MailchimpAudience(Secret("0123456789abcdef0123456789abcdef-us21"), LIST_ID,
                            max_connections=7)
    adapter = api.session.get_adapter("https://us21.api.mailchimp.com/3.0/ping")
    assert adapter._pool_maxsize == 7 and adapter.max_retries.total == 0
    assert api.timeout == (10.0, 120.0)
    api.close()


def test_faults_and_a_faulty_sandbox_are_survived_with_exact_results():
    sandbox = Sandbox(mailchimp_faults=Faults(rate=0.5, seed=11), sleep=lambda s: None)
    sandbox.mailchimp.clock = lambda: NOW
    generate_audience(sandbox.mailchimp, list_id=LIST_ID, members=8000, campaigns=0, now=NOW)
    api = make(sandbox)
    members = api.members()
    assert len(members) == 8000 and len({m["email_address"] for m in members}) == 8000
    injected = sandbox.mailchimp_host.faults.injected
    assert len(injected) >= 2  # faults really happened (seeded: the same ones every run)
    assert api.requests == 8 + len(injected)


def test_a_400_is_not_retried(box, monkeypatch):
    import syncbot.mailchimp.client as module

    emails = add(box, 501)
    api = make(box)
    ids, _ = api.resolve_tags(["lead:hot"], create=True)
    before = api.requests
    monkeypatch.setattr(module, "BATCH_LIMIT", 600)  # pretend we forgot Mailchimp's limit
    with pytest.raises(MailchimpError) as refused:
        api.write_tags(ids, {"lead:hot": emails}, {})
    assert api.requests - before == 1
    assert "400 Invalid Resource: Maximum allowed member items exceeded" in str(refused.value)


@pytest.mark.parametrize(("report", "latest"), [
    ({"opens": {"opens_total": 3, "last_open": "2026-11-20T10:00:00+00:00"},
      "clicks": {"clicks_total": 1, "last_click": "2026-11-21T09:00:00+00:00"}},
     datetime(2026, 11, 21, 9, tzinfo=UTC)),
    ({"opens": {"opens_total": 3, "last_open": "2026-11-20T10:00:00+00:00"},
      "clicks": {"clicks_total": 0, "last_click": ""}}, datetime(2026, 11, 20, 10, tzinfo=UTC)),
    ({"opens": {"opens_total": 0, "last_open": ""}, "clicks": {"clicks_total": 0, "last_click": ""}},
     datetime.min.replace(tzinfo=UTC)),  # nothing ever: nothing to read
    ({"opens": {"opens_total": 3, "last_open": ""},  # counted, but no time: read it
      "clicks": {"clicks_total": 0, "last_click": ""}}, None),
    ({"opens": {"opens_total": 3, "last_open": "yesterday"},
      "clicks": {"clicks_total": 0, "last_click": ""}}, None),
    ({"opens": {"last_open": "2026-11-20T10:00:00+00:00"}}, None),  # parts missing
    ({"id": "c1"}, None),
])
def test_a_campaign_report_tells_its_latest_activity_or_that_it_cannot(report, latest):
    from syncbot.mailchimp.client import latest_activity

    assert latest_activity(report) == latest
