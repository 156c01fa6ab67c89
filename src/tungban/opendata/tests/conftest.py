"""Shared fixtures of the open-data tests: a provider with a data officer and a Departmental
Data Officer (staff with TOTP devices), the categories, and a published dataset with one
tabular CSV resource."""

import pytest

from tungban.opendata.constants import Role
from tungban.opendata.models import DataOfficer, Organization
from tungban.opendata.services import publishing, taxonomy, versions
from tungban.testing.factories import staff_user

CSV = b"district,date,count\nCentral and Western,2026-11-01,12\nWan Chai,2026-11-01,7\n"
SCHEMA = {
    "fields": [
        {"name": "district", "type": "string", "title": "District"},
        {"name": "date", "type": "date", "title": "Date"},
        {"name": "count", "type": "integer", "title": "Count"},
    ]
}


@pytest.fixture
def groups(db):
    taxonomy.load_groups()


@pytest.fixture
def org(db):
    return Organization.objects.create(
        name="hk-td", title_en="Transport Department", title_zh="運輸署", department_code="TD"
    )


@pytest.fixture
def officer(org):
    user = staff_user("none", username="td-data-officer")
    DataOfficer.objects.create(user=user, organization=org, role=Role.DATA_OFFICER)
    return user


@pytest.fixture
def ddo(org):
    user = staff_user("none", username="td-ddo")
    DataOfficer.objects.create(user=user, organization=org, role=Role.DDO)
    return user


def make_published(officer, ddo, org, *, name="traffic-counts", data=CSV, groups=("transport",)):
    """A dataset of ``org`` with one CSV resource holding ``data``, submitted by ``officer``
    and approved by ``ddo``; returns ``(dataset, resource, version)``."""
    ds = publishing.create_dataset(
        officer,
        org,
        name=name,
        title_en="Traffic counts",
        title_zh="交通流量",
        notes_en="Vehicles counted per district and day.",
        notes_zh="按地區及日期統計的車輛數目。",
        groups=groups,
        tags=["traffic", "交通"],
    )
    res = publishing.add_resource(
        officer, ds, name_en="Counts", name_zh="流量", filename="counts.csv", table_schema=SCHEMA
    )
    version = versions.add_version(officer, res, data)
    sub = publishing.submit(officer, ds)
    publishing.approve(ddo, sub.pk)
    ds.refresh_from_db()
    res.refresh_from_db()
    version.refresh_from_db()
    return ds, res, version


@pytest.fixture
def published(groups, officer, ddo, org):
    return make_published(officer, ddo, org)
