"""Open311 GeoReport v2 at /open311/v2/ (issue 22): the specification's field and element names
in JSON and XML, errors in Open311's format, api_key for POST (401 without, 403 for a wrong or
withdrawn one), media_url refused, nothing stored on a refusal, and the privacy rule of the
public GET (no description, address, contact or closure reply; coordinates rounded; cases
without a place not listed) while the submitting client sees its own requests in full."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from xml.etree import ElementTree as ET

import pytest
from django.core.management import call_command
from django.utils import timezone

from tungban.hotline.models import Case, Open311Client
from tungban.hotline.services import cases, open311

from .conftest import lamp_case

BASE = "/open311/v2"
LAMP = {
    "service_code": "street-light-fault",
    "lat": "22.278123",
    "long": "114.182456",
    "address_string": "Flat 3A, 12 Hennessy Road, Wan Chai",
    "attribute[lamp_post]": "E1234",
    "attribute[fault]": "out",
    "email": "chan.tai.man@example.com",
    "first_name": "Tai Man",
    "last_name": "Chan",
    "phone": "+852 9123 4567",
    "description": "The lamp outside my flat has been dark for three nights.",
}


@pytest.fixture
def key(hotline):
    return open311.issue_key("fixmystreet-hk")[1]


def post(client, fmt="json", **data):
    return client.post(f"{BASE}/requests.{fmt}", data, HTTP_ACCEPT_LANGUAGE="en")


def test_discovery_and_services_in_both_formats(client, hotline):
    d = client.get(f"{BASE}/discovery.json").json()
    assert d["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert d["endpoints"][0]["url"].endswith("/open311/v2")
    assert d["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    xml = client.get(f"{BASE}/discovery.xml")
    assert xml["Content-Type"].startswith("text/xml") and xml.content.startswith(
        b'<?xml version="1.0" encoding="utf-8"?>'
    )
    assert [f.text for f in ET.fromstring(xml.content).iter("format")] == ["text/xml", "application/json"]

    services = client.get(f"{BASE}/services.json", HTTP_ACCEPT_LANGUAGE="en").json()
    lamp = next(s for s in services if s["service_code"] == "street-light-fault")
    assert lamp == {
        "service_code": "street-light-fault",
        "service_name": "Street light fault",
        "description": "",
        "metadata": True,
        "type": "realtime",
        "keywords": "",
        "group": "",
    }
    zh = client.get(f"{BASE}/services.json", HTTP_ACCEPT_LANGUAGE="zh-HK").json()
    assert {s["service_name"] for s in zh} >= {"街燈故障", "垃圾未被收集"}
    root = ET.fromstring(client.get(f"{BASE}/services.xml").content)
    assert root.tag == "services"
    assert {s.findtext("service_code") for s in root.findall("service")} == {s["service_code"] for s in services}
    assert root.find("service[service_code='refuse-collection']/metadata").text == "false"


def test_service_definition_and_unknown_service(client, hotline):
    d = client.get(f"{BASE}/services/street-light-fault.json", HTTP_ACCEPT_LANGUAGE="en").json()
    assert d["service_code"] == "street-light-fault"
    fault = next(a for a in d["attributes"] if a["code"] == "fault")
    assert fault["datatype"] == "singlevaluelist" and fault["required"] is True and fault["variable"] is True
    assert fault["values"] == [{"key": "out", "name": "Not lit"}, {"key": "flicker", "name": "Flickering"}]
    assert "values" not in next(a for a in d["attributes"] if a["code"] == "lamp_post")
    root = ET.fromstring(client.get(f"{BASE}/services/street-light-fault.xml").content)
    assert root.tag == "service_definition"
    assert [v.findtext("key") for v in root.findall("attributes/attribute[code='fault']/values/value")] == [
        "out",
        "flicker",
    ]

    missing = client.get(f"{BASE}/services/no-such-thing.json")
    assert missing.status_code == 404
    [err] = missing.json()
    assert err["code"] == 404 and err["description"].startswith("unknown_case_type: ")
    xml = client.get(f"{BASE}/services/no-such-thing.xml")
    assert xml.status_code == 404
    assert ET.fromstring(xml.content).findtext("error/code") == "404"


def test_post_needs_a_valid_key_and_refuses_media_url_storing_nothing(client, hotline, key):
    r = post(client, **LAMP)
    assert r.status_code == 401 and r.json()[0]["description"].startswith("api_key_required")
    r = post(client, "xml", api_key="not-a-key", **LAMP)
    assert r.status_code == 403 and ET.fromstring(r.content).findtext("error/code") == "403"
    r = post(client, api_key=key, media_url="http://169.254.169.254/latest/meta-data", **LAMP)
    assert r.status_code == 400 and r.json()[0]["description"].startswith("media_url_refused")
    r = post(client, api_key=key, **{**LAMP, "attribute[fault]": "exploded"})
    assert r.status_code == 400 and r.json()[0]["description"].startswith("attribute_invalid")
    r = post(client, api_key=key, **{k: v for k, v in LAMP.items() if k not in ("lat", "long", "address_string")})
    assert r.status_code == 400 and r.json()[0]["description"].startswith("location_required")
    assert Case.objects.count() == 0
    open311.withdraw_key("fixmystreet-hk")
    assert post(client, api_key=key, **LAMP).status_code == 403
    assert Case.objects.count() == 0


def test_post_then_public_and_own_reads(client, hotline, key, hyd_officer):
    r = post(client, api_key=key, **LAMP)
    assert r.status_code == 201
    [item] = r.json()
    ref = item["service_request_id"]
    assert set(item) == {"service_request_id", "service_notice", "account_id"} and item["account_id"] is None
    case = Case.objects.get(reference=ref)
    assert case.channel == "open311" and case.client_id == "open311:fixmystreet-hk"
    assert case.contact_name == "Tai Man Chan" and case.get_attribute_values() == {"lamp_post": "E1234", "fault": "out"}

    public = client.get(f"{BASE}/requests/{ref}.json", HTTP_ACCEPT_LANGUAGE="en").json()[0]
    assert public["status"] == "open" and public["service_code"] == "street-light-fault"
    assert public["description"] is None and public["address"] is None and public["status_notes"] is None
    assert (public["lat"], public["long"]) == (22.28, 114.18)  # rounded to 0.01°
    assert public["agency_responsible"] == "Highways Department"
    assert public["requested_datetime"].endswith("+08:00")
    lower = client.get(f"{BASE}/requests/{ref.lower()}.json").json()[0]  # ids are read case-insensitively
    assert lower["service_request_id"] == ref
    own = client.get(f"{BASE}/requests/{ref}.json", {"api_key": key}).json()[0]
    assert own["description"] == LAMP["description"] and own["address"] == LAMP["address_string"]
    assert (own["lat"], own["long"]) == (22.278123, 114.182456)

    cases.accept(case, hyd_officer)
    cases.close(case, hyd_officer, "We replaced the lamp at Flat 3A's door on 5 December.")
    closed = client.get(f"{BASE}/requests/{ref}.json").json()[0]
    assert closed["status"] == "closed" and closed["status_notes"] is None
    own = client.get(f"{BASE}/requests/{ref}.xml", {"api_key": key})
    request = ET.fromstring(own.content).find("request")
    assert request.findtext("status") == "closed"
    assert request.findtext("status_notes") == "We replaced the lamp at Flat 3A's door on 5 December."
    # Another client's key sees what the public sees.
    other = open311.issue_key("another-client")[1]
    assert client.get(f"{BASE}/requests/{ref}.json", {"api_key": other}).json()[0]["status_notes"] is None


def test_get_requests_filters_limits_and_unlisted_cases(client, hotline, hyd_officer):
    lamp, _code = lamp_case()
    refuse, _code = lamp_case(case_type="refuse-collection", attribute_values={})
    from tungban.hotline.models import CaseType

    CaseType.objects.filter(code="refuse-collection").update(location="none")  # a personal matter: not listed
    found = client.get(f"{BASE}/requests.json").json()
    assert [r["service_request_id"] for r in found] == [lamp.reference]
    assert client.get(f"{BASE}/requests/{refuse.reference}.json").status_code == 404
    both = client.get(f"{BASE}/requests.json", {"service_request_id": f"{lamp.reference},{refuse.reference}"}).json()
    assert [r["service_request_id"] for r in both] == [lamp.reference]
    assert client.get(f"{BASE}/requests.json", {"status": "closed"}).json() == []
    assert (
        len(client.get(f"{BASE}/requests.json", {"status": "open", "service_code": "street-light-fault"}).json()) == 1
    )
    assert client.get(f"{BASE}/requests.json", {"service_code": "tree-safety"}).json() == []
    now = timezone.now()
    old = (now - dt.timedelta(days=200)).isoformat()
    assert client.get(f"{BASE}/requests.json", {"start_date": old}).json() == []  # 200..110 days ago
    r = client.get(f"{BASE}/requests.json", {"start_date": old, "end_date": now.isoformat()})
    assert r.status_code == 400 and r.json()[0]["description"].startswith("date_range_too_long")
    r = client.get(f"{BASE}/requests.xml", {"start_date": "yesterday"})
    assert r.status_code == 400 and ET.fromstring(r.content).findtext("error/code") == "400"
    assert client.get(f"{BASE}/requests.json", {"status": "pending"}).status_code == 400
    root = ET.fromstring(client.get(f"{BASE}/requests.xml").content)
    assert root.tag == "service_requests" and root.find("request/description").text is None


def test_key_command_issues_replaces_and_withdraws(hotline):
    out = StringIO()
    call_command("open311_key", "city-app", "--contact", "dev@example.org", stdout=out)
    first = out.getvalue().strip().splitlines()[-1]
    client = Open311Client.objects.get(name="city-app")
    assert client.key_digest != first and first not in json.dumps(list(Open311Client.objects.values()), default=str)
    assert open311.client_for(first, required=True) == client
    call_command("open311_key", "city-app", stdout=StringIO())  # a new key: the old one stops working
    with pytest.raises(Exception) as exc:
        open311.client_for(first, required=True)
    assert exc.value.code == "api_key_invalid"
    call_command("open311_key", "city-app", "--withdraw", stdout=StringIO())
    assert not Open311Client.objects.get(name="city-app").active
