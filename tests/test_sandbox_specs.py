"""The sandbox answers like the real APIs: its routes and responses checked against tests/api_specs."""

from __future__ import annotations

import pytest

from syncbot.sandbox import Sandbox
from syncbot.sandbox.generator import generate_audience, generate_orders
from syncbot.sandbox.mailchimp import subscriber_hash
from tests import spec_schemas as specs
from tests.conftest import NOW, SHEET_ID, authorized_session


def test_every_mailchimp_route_and_parameter_is_in_the_official_spec():
    for route in Sandbox().mailchimp.router.routes:
        operation = specs.mailchimp_operation(route.template, route.method)
        assert operation is not None, f"{route.method} {route.template} is not in the spec"
        names = {p["name"] for p in operation.get("parameters", [])
                 if p.get("in") == "query"}
        assert set(route.params) <= names, (route.template, set(route.params) - names)


def test_every_sheets_route_and_parameter_is_in_the_discovery_document():
    global_params = set(specs.sheets_discovery()["parameters"])
    for route in Sandbox().sheets.router.routes:
        method = specs.sheets_method("v4" + route.template, route.method)
        assert method is not None, f"{route.method} {route.template} is not in the discovery doc"
        names = {n for n, p in method["parameters"].items() if p["location"] == "query"}
        assert set(route.params) <= names | global_params, route.template


@pytest.fixture
def live():
    box = Sandbox()
    box.mailchimp.clock = lambda: NOW
    audience = generate_audience(box.mailchimp, members=60, campaigns=2, now=NOW, seed=3)
    generate_orders(box.mailchimp, audience, now=NOW, orders=80, seed=3,
                    stores=(("shop-es", "Tienda", "EUR"), ("shop-us", "Store", "USD")))
    session = box.session()
    auth = ("user", box.mailchimp.api_key)

    def get(path, **params):
        reply = session.get(box.mailchimp.base_url + path, params=params, auth=auth, timeout=5)
        return reply

    def post(path, body):
        return session.post(box.mailchimp.base_url + path, json=body, auth=auth, timeout=5)

    return box, audience, get, post


def test_mailchimp_responses_validate_against_the_spec(live):
    box, audience, get, post = live
    lid = audience.list_id
    email = audience.emails[0]
    checks = [
        (get("/ping"), specs.mailchimp_response_schema("/ping")),
        (get("/lists"), specs.mailchimp_response_schema("/lists")),
        (get(f"/lists/{lid}"), specs.mailchimp_response_schema("/lists/{list_id}")),
        (get(f"/lists/{lid}/segments", count=1000),
         specs.mailchimp_response_schema("/lists/{list_id}/segments")),
        (get("/campaigns", count=5), specs.mailchimp_response_schema("/campaigns")),
        (get(f"/lists/{lid}/members/{subscriber_hash(email)}/tags"),
         specs.mailchimp_response_schema("/lists/{list_id}/members/{subscriber_hash}/tags")),
        (get(f"/lists/{lid}/members", count=60),
         specs.mailchimp_yaml_response_schema("members-3.0.55.swagger2.yml",
                                              "/lists/{list_id}/members")),
        (get(f"/reports/{audience.campaign_ids[0]}/email-activity", count=60),
         specs.mailchimp_yaml_response_schema("email-activity-3.0.55.swagger2.yml",
                                              "/reports/{campaign_id}/email-activity")),
        (get(f"/lists/{lid}/members/{subscriber_hash(email)}"), specs.member_schema()),
        (get("/reports", count=10), specs.mailchimp_response_schema("/reports")),
        (get("/reports", fields="reports.id,reports.opens.last_open,reports.clicks.last_click"),
         specs.mailchimp_response_schema("/reports")),
        (get("/ecommerce/stores"), specs.mailchimp_response_schema("/ecommerce/stores")),
        (get("/ecommerce/orders", count=80), specs.mailchimp_response_schema("/ecommerce/orders")),
    ]
    created = post(f"/lists/{lid}/segments", {"name": "lead:hot", "static_segment": []})
    checks.append((created, specs.mailchimp_response_schema("/lists/{list_id}/segments", "post")))
    batch = post(f"/lists/{lid}/segments/{created.json()['id']}",
                 {"members_to_add": audience.emails[:3] + ["nobody@example.com"]})
    batch_schema = specs.mailchimp_response_schema("/lists/{list_id}/segments/{segment_id}",
                                                   "post")
    for key in ("members_added", "members_removed"):  # their item schema is the member object
        batch_schema["properties"][key]["items"] = specs.member_schema()
    checks.append((batch, batch_schema))
    members = get(f"/lists/{lid}/segments/{created.json()['id']}/members")
    members_schema = specs.mailchimp_response_schema(
        "/lists/{list_id}/segments/{segment_id}/members")
    members_schema["properties"]["members"]["items"] = specs.member_schema()
    checks.append((members, members_schema))
    for reply, schema in checks:
        assert reply.status_code == 200, reply.text
        specs.validate(reply.json(), schema)
    assert batch.json()["total_added"] == 3 and members.json()["total_items"] >= 1


def test_mailchimp_errors_validate_as_problem_documents(live):
    box, audience, get, post = live
    for reply in (get("/lists/missing"), get("/lists", count=5000),
                  post(f"/lists/{audience.list_id}/segments", {})):
        assert reply.status_code in (400, 404)
        assert reply.headers["Content-Type"] == "application/problem+json; charset=utf-8"
        specs.validate(reply.json(), specs.mailchimp_problem_schema())
        assert set(reply.json()) == {"type", "title", "status", "detail", "instance"}


def test_sheets_responses_validate_against_the_discovery_schemas():
    box = Sandbox()
    info = box.google.service_account()
    box.sheets.create(SHEET_ID, editors=(info["client_email"],), tabs=("Leads",))
    session = authorized_session(box, info)
    base = f"https://sheets.googleapis.com/v4/spreadsheets/{SHEET_ID}"
    raw = {"valueInputOption": "RAW"}
    checks = [
        (session.put(f"{base}/values/Leads!A1", params=raw,
                     json={"values": [["email", 1.5, True]]}), "UpdateValuesResponse"),
        (session.post(f"{base}/values:batchUpdate",
                      json={"valueInputOption": "RAW",
                            "data": [{"range": "Leads!A2", "values": [["x"]]}]}),
         "BatchUpdateValuesResponse"),
        (session.post(f"{base}/values/Leads!A1:append", params=raw,
                      json={"values": [["y"]]}), "AppendValuesResponse"),
        (session.get(f"{base}/values/Leads!A1:C3"), "ValueRange"),
        (session.get(f"{base}/values:batchGet", params={"ranges": ["Leads!A:A", "Leads!B1"]}),
         "BatchGetValuesResponse"),
        (session.post(f"{base}/values/Leads!C1:clear"), "ClearValuesResponse"),
        (session.post(f"{base}/values:batchClear", json={"ranges": ["Leads!B1"]}),
         "BatchClearValuesResponse"),
        (session.post(f"{base}:batchUpdate", json={"requests": [
            {"addSheet": {"properties": {"title": "Runs"}}},
            {"appendDimension": {"sheetId": 1, "dimension": "ROWS", "length": 5}}]}),
         "BatchUpdateSpreadsheetResponse"),
        (session.get(base), "Spreadsheet"),
        (session.get(f"{base}/values/Nope!A1"), None),
    ]
    for reply, schema in checks:
        if schema is None:
            assert reply.status_code == 400
            assert set(reply.json()["error"]) >= {"code", "message", "status"}
            continue
        assert reply.status_code == 200, reply.text
        specs.validate(reply.json(), specs.sheets_schema(schema))


def test_the_schema_check_itself_rejects_invented_or_mistyped_fields():
    import jsonschema

    member = {"email_address": "a@example.com", "stats": {"avg_open_rate": 0.5}}
    specs.validate(member, specs.member_schema())
    for broken in ({**member, "favourite_colour": "blue"},
                   {**member, "stats": {"avg_open_rate": "high"}},
                   {**member, "tags": [{"id": "not-an-int", "name": "x"}]}):
        with pytest.raises(jsonschema.ValidationError):
            specs.validate(broken, specs.member_schema())
    with pytest.raises(jsonschema.ValidationError):
        specs.validate({"range": "A1", "values": [[1]], "extra": 1}, specs.sheets_schema("ValueRange"))
