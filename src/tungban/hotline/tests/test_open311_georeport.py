"""Acceptance 3 of issue 22: an Open311 client library the platform does not use — ``georeport``
0.3.1 (PyPI, Apache-2.0; it installs and runs on Python 3.13) — against a live server.

``georeport`` reads (services, service definitions, requests) but has no call to create a
request, so the submission is the specification's form-encoded ``POST requests.json`` sent with
``requests`` as its examples show. Then the department closes the case through 1823's service,
and the client reads the closure in JSON and in XML: ``status`` closed, ``updated_datetime``
the closure, and ``status_notes`` per the privacy rule — ``null`` on the public read (the
library sends no ``api_key`` on reads), the department's reply when the submitting client reads
with its ``api_key``."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from georeport import GeoReport

from tungban.hotline.models import Case
from tungban.hotline.services import cases, open311

pytestmark = [pytest.mark.live_http, pytest.mark.django_db(transaction=True)]


def test_submit_close_and_read_the_closure_with_georeport(issuer, hotline, hyd_officer):
    _client, key = open311.issue_key("georeport-test")
    root = f"{issuer}/open311/v2"
    client = GeoReport(root, api_key=key)
    xml_client = GeoReport(root, output_format="xml")

    codes = {s["service_code"] for s in client.get_service_list()}
    assert {"street-light-fault", "refuse-collection", "tree-safety"} <= codes
    definition = client.get_service_definition("street-light-fault")
    assert {a["code"] for a in definition["attributes"]} >= {"lamp_post", "fault"}
    assert xml_client.get_service_definition("street-light-fault")["service_code"] == "street-light-fault"

    r = requests.post(
        f"{root}/requests.json",
        data={
            "api_key": key,
            "service_code": "street-light-fault",
            "lat": "22.3193",
            "long": "114.1694",
            "attribute[lamp_post]": "K0042",
            "attribute[fault]": "flicker",
            "email": "resident@example.com",
            "description": "The lamp at the bus stop flickers all night.",
        },
        timeout=30,
    )
    assert r.status_code == 201, r.text
    ref = r.json()[0]["service_request_id"]

    opened = client.get_service_request(ref)
    assert opened["status"] == "open" and opened["description"] is None

    case = Case.objects.get(reference=ref)
    cases.accept(case, hyd_officer)
    cases.close(case, hyd_officer, "The lamp's starter was replaced.")
    case.refresh_from_db()

    public = client.get_service_request(ref)
    assert public["status"] == "closed"
    assert dt.datetime.fromisoformat(public["updated_datetime"]) == case.closed_at.replace(microsecond=0)
    assert public["status_notes"] is None and public["address"] is None
    listed = client.get_service_requests(service_request_id=ref, status="closed")
    assert [x["service_request_id"] for x in listed] == [ref]
    as_xml = xml_client.get_service_request(ref)
    assert as_xml["status"] == "closed" and as_xml["status_notes"] is None

    own = requests.get(f"{root}/requests/{ref}.json", params={"api_key": key}, timeout=30).json()[0]
    assert own["status"] == "closed" and own["status_notes"] == "The lamp's starter was replaced."
