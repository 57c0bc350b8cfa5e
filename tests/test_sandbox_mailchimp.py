"""The Mailchimp emulator, driven through the official `mailchimp_marketing` client."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from mailchimp_marketing.api_client import ApiClientError

from syncbot.sandbox.generator import generate_audience
from syncbot.sandbox.mailchimp import subscriber_hash
from tests.conftest import LIST_ID, NOW


def add_members(sandbox, n, **fields):
    return [sandbox.mailchimp.add_member(LIST_ID, f"user{i}@example.com", **fields).email_address
            for i in range(n)]


def test_members_page_with_count_offset_and_total_items(sandbox, mailchimp):
    add_members(sandbox, 2345)
    seen = []
    offset = 0
    while True:
        page = mailchimp.lists.get_list_members_info(LIST_ID, count=1000, offset=offset)
        assert page["total_items"] == 2345
        seen += [m["email_address"] for m in page["members"]]
        offset += 1000
        if offset >= page["total_items"]:
            break
    assert len(seen) == 2345 == len(set(seen))
    assert sandbox.mailchimp_host.count("GET", "/members") == 3


def test_default_page_is_ten_and_count_above_1000_is_refused(sandbox, mailchimp, rsps):
    add_members(sandbox, 30)
    assert len(mailchimp.lists.get_list_members_info(LIST_ID)["members"]) == 10
    with pytest.raises(ValueError):  # the client refuses before sending
        mailchimp.lists.get_list_members_info(LIST_ID, count=1001)
    import requests  # the server refuses too, for clients that do not check

    auth = ("user", sandbox.mailchimp.api_key)
    reply = requests.get(f"{sandbox.mailchimp.base_url}/lists/{LIST_ID}/members",
                         params={"count": 1001}, auth=auth, timeout=5)
    assert reply.status_code == 400
    assert reply.headers["Content-Type"].startswith("application/problem+json")


def test_fields_and_exclude_fields_use_dot_notation(sandbox, mailchimp):
    add_members(sandbox, 3)
    page = mailchimp.lists.get_list_members_info(
        LIST_ID, fields=["members.email_address", "members.stats.ecommerce_data", "total_items"])
    assert page == {"members": [{"email_address": f"user{i}@example.com",
                                 "stats": {"ecommerce_data": {"total_revenue": 0.0,
                                                              "number_of_orders": 0,
                                                              "currency_code": "EUR"}}}
                                for i in range(3)], "total_items": 3}
    trimmed = mailchimp.lists.get_list_members_info(
        LIST_ID, exclude_fields=["members.stats", "members.location", "list_id"])
    assert "stats" not in trimmed["members"][0] and "list_id" not in trimmed
    assert "email_address" in trimmed["members"][0]


def test_fields_that_match_nothing_come_back_as_a_raw_response(sandbox, mailchimp):
    add_members(sandbox, 1)
    result = mailchimp.lists.get_list_members_info(LIST_ID, fields=["nothing.here"])
    assert not isinstance(result, dict) and result.status_code == 200  # the client's trap


def test_status_and_since_last_changed_filters(sandbox, mailchimp):
    sandbox.mailchimp.clock = lambda: NOW - timedelta(days=10)
    add_members(sandbox, 5)
    sandbox.mailchimp.add_member(LIST_ID, "gone@example.com", status="unsubscribed")
    sandbox.mailchimp.clock = lambda: NOW
    sandbox.mailchimp.update_member(LIST_ID, "user3@example.com", merge_fields={"FNAME": "Tres"})
    changed = mailchimp.lists.get_list_members_info(
        LIST_ID, since_last_changed=(NOW - timedelta(days=1)).isoformat())
    assert [m["email_address"] for m in changed["members"]] == ["user3@example.com"]
    unsub = mailchimp.lists.get_list_members_info(LIST_ID, status="unsubscribed")
    assert [m["email_address"] for m in unsub["members"]] == ["gone@example.com"]


def test_stats_move_without_last_changed_and_unknown_fields_are_refused(sandbox, mailchimp):
    sandbox.mailchimp.clock = lambda: NOW - timedelta(days=10)
    add_members(sandbox, 2)
    sandbox.mailchimp.clock = lambda: NOW
    sandbox.mailchimp.update_stats(LIST_ID, "user0@example.com", member_rating=5,
                                   number_of_orders=3, total_revenue=90.5)
    member = mailchimp.lists.get_list_member(LIST_ID, subscriber_hash("user0@example.com"))
    assert member["member_rating"] == 5
    assert member["stats"]["ecommerce_data"]["number_of_orders"] == 3
    assert member["stats"]["ecommerce_data"]["total_revenue"] == 90.5
    assert member["last_changed"] == member["timestamp_opt"]  # a profile change moves it
    assert member["full_name"] == "" and member["id"] == subscriber_hash("user0@example.com")
    with pytest.raises(KeyError, match="nickname"):
        sandbox.mailchimp.update_member(LIST_ID, "user1@example.com", nickname="Uno")
    with pytest.raises(KeyError, match="key"):
        sandbox.mailchimp.update_stats(LIST_ID, "user1@example.com", key="0" * 32)


def test_member_tags_list_at_most_50_but_tags_count_is_true(sandbox, mailchimp):
    add_members(sandbox, 1)
    for i in range(60):
        sandbox.mailchimp.create_segment(LIST_ID, f"tag-{i}", emails=["user0@example.com"])
    member = mailchimp.lists.get_list_member(LIST_ID, subscriber_hash("USER0@example.com"))
    assert member["tags_count"] == 60 and len(member["tags"]) == 50
    tags = mailchimp.lists.get_list_member_tags(LIST_ID, subscriber_hash("user0@example.com"),
                                                count=100)
    assert tags["total_items"] == 60 and len(tags["tags"]) == 60


def test_campaigns_by_status_and_send_time(sandbox, mailchimp):
    old = sandbox.mailchimp.add_campaign(LIST_ID, NOW - timedelta(days=200), "old")
    new = sandbox.mailchimp.add_campaign(LIST_ID, NOW - timedelta(days=3), "new")
    sandbox.mailchimp.add_campaign(LIST_ID, NOW + timedelta(days=3), "draft", status="save")
    found = mailchimp.campaigns.list(status="sent", list_id=LIST_ID,
                                     since_send_time=(NOW - timedelta(days=90)).isoformat())
    assert [c["id"] for c in found["campaigns"]] == [new.id] and found["total_items"] == 1
    everything = mailchimp.campaigns.list(status="sent", count=1000)
    assert {c["id"] for c in everything["campaigns"]} == {old.id, new.id}


def test_a_report_is_built_again_only_when_its_campaign_has_new_events(sandbox, mailchimp,
                                                                      monkeypatch):
    emails = add_members(sandbox, 2)
    first = sandbox.mailchimp.add_campaign(LIST_ID, NOW - timedelta(days=5), recipients=emails)
    second = sandbox.mailchimp.add_campaign(LIST_ID, NOW - timedelta(days=4), recipients=emails)
    built = []
    build = sandbox.mailchimp._build_report
    monkeypatch.setattr(sandbox.mailchimp, "_build_report",
                        lambda c, seen_until: built.append(c.id) or build(c, seen_until))
    mailchimp.reports.get_all_campaign_reports()
    assert sorted(built) == sorted([first.id, second.id])
    built.clear()
    sandbox.mailchimp.add_event(second.id, emails[0], "open", NOW - timedelta(hours=1))
    reports = mailchimp.reports.get_all_campaign_reports()["reports"]
    assert built == [second.id]
    assert {r["id"]: r["opens"]["last_open"] for r in reports} == {
        first.id: "", second.id: "2026-11-22T11:00:00+00:00"}


def test_email_activity_pages_and_since(sandbox, mailchimp):
    emails = add_members(sandbox, 3)
    campaign = sandbox.mailchimp.add_campaign(LIST_ID, NOW - timedelta(days=5), recipients=emails)
    sandbox.mailchimp.add_event(campaign.id, emails[0], "open", NOW - timedelta(days=4))
    sandbox.mailchimp.add_event(campaign.id, emails[0], "click", NOW - timedelta(hours=2),
                                url="https://shop.example.com/pricing")
    sandbox.mailchimp.add_event(campaign.id, emails[1], "open", NOW - timedelta(days=4))
    report = mailchimp.reports.get_email_activity_for_campaign(campaign.id, count=1000)
    assert report["total_items"] == 3  # every recipient, activity or not
    assert [len(e["activity"]) for e in report["emails"]] == [2, 1, 0]
    recent = mailchimp.reports.get_email_activity_for_campaign(
        campaign.id, since=(NOW - timedelta(days=1)).isoformat())
    assert recent["total_items"] == 1
    assert recent["emails"][0]["activity"] == [
        {"action": "click", "timestamp": "2026-11-22T10:00:00+00:00", "ip": "203.0.113.9",
         "url": "https://shop.example.com/pricing"}]
    assert recent["emails"][0]["email_id"] == subscriber_hash(emails[0])


def test_static_segments_list_create_batch_and_members(sandbox, mailchimp):
    emails = add_members(sandbox, 1200)
    sandbox.mailchimp.create_segment(LIST_ID, "saved one", type="saved", emails=emails[:5],
                                     options={"match": "any", "conditions": []})
    created = mailchimp.lists.create_segment(LIST_ID, {"name": "lead:hot", "static_segment": []})
    assert created["type"] == "static" and created["member_count"] == 0
    result = mailchimp.lists.batch_segment_members(
        {"members_to_add": emails[:500]}, LIST_ID, created["id"])
    assert result["total_added"] == 500 and result["error_count"] == 0
    result = mailchimp.lists.batch_segment_members(
        {"members_to_add": ["stranger@example.com"], "members_to_remove": emails[:10]},
        LIST_ID, created["id"])
    assert result["total_removed"] == 10
    assert result["errors"][0]["email_addresses"] == ["stranger@example.com"]
    statics = mailchimp.lists.list_segments(LIST_ID, type="static", count=1000)
    assert [s["name"] for s in statics["segments"]] == ["lead:hot"]
    members = mailchimp.lists.get_segment_members_list(LIST_ID, created["id"], count=1000)
    assert members["total_items"] == 490
    assert sandbox.mailchimp.tag_names(LIST_ID, emails[20]) == ["lead:hot"]


def test_segment_batch_refuses_more_than_500_addresses_and_saved_segments(sandbox, mailchimp):
    emails = add_members(sandbox, 501)
    tag = sandbox.mailchimp.create_segment(LIST_ID, "big")
    saved = sandbox.mailchimp.create_segment(LIST_ID, "saved", type="saved")
    with pytest.raises(ApiClientError) as too_many:
        mailchimp.lists.batch_segment_members({"members_to_add": emails}, LIST_ID, tag.id)
    assert too_many.value.status_code == 400
    assert "Maximum allowed member items exceeded" in json.loads(too_many.value.text)["detail"]
    assert tag.members == set()  # nothing applied
    with pytest.raises(ApiClientError) as not_static:
        mailchimp.lists.batch_segment_members({"members_to_add": emails[:1]}, LIST_ID, saved.id)
    assert not_static.value.status_code == 400


def test_segment_members_hide_unsubscribed_unless_asked(sandbox, mailchimp):
    add_members(sandbox, 2)
    sandbox.mailchimp.add_member(LIST_ID, "left@example.com", status="unsubscribed")
    tag = sandbox.mailchimp.create_segment(
        LIST_ID, "t", emails=["user0@example.com", "user1@example.com", "left@example.com"])
    default = mailchimp.lists.get_segment_members_list(LIST_ID, tag.id)
    assert default["total_items"] == 2
    everyone = mailchimp.lists.get_segment_members_list(LIST_ID, tag.id, include_unsubscribed=True)
    assert everyone["total_items"] == 3
    listed = mailchimp.lists.list_segments(LIST_ID)["segments"][0]
    assert listed["member_count"] == 2  # active subscribers only


def test_errors_are_problem_json_and_the_client_gets_raw_text(sandbox, mailchimp):
    with pytest.raises(ApiClientError) as missing:
        mailchimp.lists.get_list("nope")
    assert missing.value.status_code == 404
    body = json.loads(missing.value.text)  # the client leaves problem+json unparsed
    assert set(body) == {"type", "title", "status", "detail", "instance"}
    assert str(missing.value) == ""  # and its str() is empty: callers must use .text


@pytest.mark.parametrize("key", ["0123456789abcdef0123456789abcdef-us5",  # wrong data centre
                                 "ffffffffffffffffffffffffffffffff-us21"])  # unknown key
def test_wrong_key_or_data_centre_is_401(sandbox, mailchimp, key):
    import mailchimp_marketing

    other = mailchimp_marketing.Client({"api_key": key, "server": "us21"})
    if key.endswith("-us5"):
        other = mailchimp_marketing.Client({"api_key": sandbox.mailchimp.api_key, "server": "us5"})
    with pytest.raises(ApiClientError) as denied:
        other.ping.get()
    assert denied.value.status_code == 401
    assert json.loads(denied.value.text)["title"] == "API Key Invalid"


def test_generator_is_seeded_and_realistic(sandbox):
    first = generate_audience(sandbox.mailchimp, members=400, campaigns=4, now=NOW, seed=7)
    from syncbot.sandbox import Sandbox

    again = Sandbox()
    second = generate_audience(again.mailchimp, members=400, campaigns=4, now=NOW, seed=7)
    assert first.emails == second.emails
    members = sandbox.mailchimp.audiences[first.list_id].members.values()
    assert {m.status for m in members} >= {"subscribed", "unsubscribed", "cleaned"}
    assert any(m.merge_fields["FNAME"].startswith(("=", "+", "@", "-")) for m in members)
    assert any(not m.email_address.isascii() for m in members)
    assert any(m.email_address != m.email_address.lower() for m in members)
    assert any(m.number_of_orders for m in members)
    assert all(m.merge_fields.keys() >= {"COMPANY", "JOBTITLE"} for m in members)
    segments = sandbox.mailchimp.audiences[first.list_id].segments.values()
    assert {s.type for s in segments} == {"static", "saved"}
    actions = {e["action"] for c in sandbox.mailchimp.campaigns.values()
               for events in c.activity.values() for e in events}
    assert actions == {"open", "click", "bounce"}
    assert all(e["timestamp"] <= "2026-11-22T12:00:00+00:00"
               for c in sandbox.mailchimp.campaigns.values()
               for events in c.activity.values() for e in events if e["action"] != "bounce")


@pytest.mark.parametrize("keep_rendered", [False, True])
def test_the_shop_pages_trims_filters_and_shows_changes_at_once(keep_rendered):
    """``/ecommerce/orders``: paging, ``fields`` and ``exclude_fields`` in dot notation, the
    campaign filter; an order changed after a listing reads changed in the next one, whether
    orders are rendered per request or kept rendered (the benchmarks' server)."""
    from datetime import UTC, datetime

    from syncbot.sandbox import Sandbox

    box = Sandbox()
    shop, session = box.mailchimp.shop, box.session()
    shop.keep_rendered = keep_rendered
    shop.add_store("s1", "list1", name="Tienda", currency_code="EUR")
    when = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(5):
        shop.add_order("s1", f"o{n}", f"A{n}@x.es", when, 10.0 + n, products=["Boots", "Hat"],
                       campaign_id="c1" if n % 2 else "")

    def get(**params):
        reply = session.get(box.mailchimp.base_url + "/ecommerce/orders", params=params,
                            auth=("u", box.mailchimp.api_key), timeout=5)
        assert reply.status_code == 200, reply.text
        return reply.json()

    fields = "orders.id,orders.financial_status,orders.lines.product_title,total_items"
    page = get(count=2, offset=1, fields=fields)
    assert page == {"orders": [
        {"id": "o1", "financial_status": "paid",
         "lines": [{"product_title": "Boots"}, {"product_title": "Hat"}]},
        {"id": "o2", "financial_status": "paid",
         "lines": [{"product_title": "Boots"}, {"product_title": "Hat"}]}], "total_items": 5}
    shop.update_order("s1", "o1", financial_status="refunded")
    assert get(count=2, offset=1, fields=fields)["orders"][0]["financial_status"] == "refunded"
    assert "lines" not in get(count=1, exclude_fields="orders.lines")["orders"][0]
    assert get(fields="total_items") == {"total_items": 5}
    assert [o["id"] for o in get(campaign_id="c1", fields="orders.id")["orders"]] == ["o1", "o3"]
    full = get(count=1)["orders"][0]
    assert full["customer"]["email_address"] == "A0@x.es" and full["store_id"] == "s1"
