"""The open-data demo data (:mod:`tungban.opendata.seed`): at least 200 published datasets in
the 19 categories from at least 15 providers, every CSV valid against its Table Schema,
some with two versions, the departmental catalogues filled, and a second run adds nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from tungban.exchange import catalogue as exchange_catalogue
from tungban.opendata import seed, storage
from tungban.opendata.constants import DatasetState, Disposition, SubmissionState, VersionState
from tungban.opendata.models import CatalogueEntry, Dataset, Group, Organization, ResourceVersion, Submission
from tungban.opendata.services import catalogue

pytestmark = pytest.mark.django_db

_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)?")
_YEARMONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _valid(type_: str, value: str) -> bool:
    """Whether ``value`` is a lexical value of Table Schema ``type_`` (the types the seed uses)."""
    try:
        if type_ == "integer":
            int(value)
        elif type_ == "number":
            float(value)
        elif type_ == "date":
            dt.date.fromisoformat(value)
        elif type_ == "datetime":
            return bool(_DATETIME.fullmatch(value))
        elif type_ == "yearmonth":
            return bool(_YEARMONTH.fullmatch(value))
        elif type_ == "boolean":
            return value in ("true", "false")
        elif type_ != "string":
            return False
    except ValueError:
        return False
    return True


def check_against_schema(data: bytes, schema: dict) -> int:
    """Rows of the CSV ``data``, asserting its header is the schema's field names and every
    value has its field's type."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    names = [f["name"] for f in schema["fields"]]
    assert rows[0] == names
    for row in rows[1:]:
        assert len(row) == len(names), row
        for f, value in zip(schema["fields"], row, strict=True):
            assert _valid(f["type"], value), (f, value)
    return len(rows) - 1


def test_the_checker_refuses_a_bad_value():
    schema = {"fields": [{"name": "n", "type": "integer"}, {"name": "d", "type": "date"}]}
    assert check_against_schema(b"n,d\n1,2026-01-02\n", schema) == 1
    with pytest.raises(AssertionError):
        check_against_schema(b"n,d\nx,2026-01-02\n", schema)
    with pytest.raises(AssertionError):
        check_against_schema(b"n,d\n1,2026-13-02\n", schema)


@pytest.fixture
def seeded(settings, tmp_path):
    settings.TUNGBAN_OPENDATA_FILES = tmp_path / "files"
    exchange_catalogue.register_bundled({})  # the products the catalogues offer
    return seed.seed()


def test_seed_makes_the_demo_catalogue(seeded):
    active = Dataset.objects.filter(state=DatasetState.ACTIVE)
    assert seeded["datasets"] == len(seed.plan()) == Dataset.objects.count()
    assert active.count() >= 200
    assert Group.objects.count() == 19
    assert Group.objects.filter(datasets__state=DatasetState.ACTIVE).distinct().count() == 19
    assert Organization.objects.filter(datasets__state=DatasetState.ACTIVE).distinct().count() >= 15
    # Bilingual and tagged.
    assert not active.filter(title_zh="").exists() and not active.filter(notes_zh="").exists()
    assert active.filter(tags__name__regex=r"[\u4e00-\u9fff]").distinct().count() == active.count()
    # Every published version's bytes are in the store and pass the resource's Table Schema.
    versions = ResourceVersion.objects.filter(state=VersionState.PUBLISHED).select_related("resource")
    for v in versions:
        assert check_against_schema(storage.read(v.sha256), v.resource.table_schema) > 0
    # Some resources have history; the current version is the newest.
    twice = [r for r in {v.resource for v in versions} if r.versions.filter(state=VersionState.PUBLISHED).count() == 2]
    assert len(twice) >= 40
    for r in twice:
        r.refresh_from_db()
        assert r.current == r.versions.order_by("-captured_at").first()
    # One request waits for the Transport Department's DDO.
    pending = Submission.objects.get(state=SubmissionState.PENDING)
    assert pending.dataset.name == seed.PENDING_DATASET and pending.dataset.organization.name == "hk-td"


def test_seed_fills_the_departmental_catalogues(seeded):
    orgs = Organization.objects.filter(catalogue__isnull=False).distinct()
    assert orgs.count() >= 15
    for org in orgs:
        assert 3 <= org.catalogue.count() <= 6, org
    entries = catalogue.with_disposition()
    assert entries.filter(state=Disposition.OPEN).count() >= 40
    assert entries.filter(personal_data=True, state=Disposition.INTERNAL).count() >= 15
    offered = entries.filter(state=Disposition.EXCHANGE)
    assert set(offered.values_list("product_id", flat=True)) == {
        "ird.tax-return-status.v1",
        "wsd.registered-address.v1",
        "cr.company-particulars.v1",
    }
    assert CatalogueEntry.objects.filter(ddo_approved_at__isnull=True).count() >= 15  # pending approvals


def test_seed_twice_adds_nothing(seeded):
    counts = (Dataset.objects.count(), ResourceVersion.objects.count(), CatalogueEntry.objects.count())
    assert seed.seed() == {"datasets": 0, "entries": 0}
    assert (Dataset.objects.count(), ResourceVersion.objects.count(), CatalogueEntry.objects.count()) == counts


def test_seed_is_deterministic():
    p = seed.plan()[7]
    first = seed.render(p.spec.columns, p.spec.rows, seed=p.name, variant=p.variant)
    assert seed.render(p.spec.columns, p.spec.rows, seed=p.name, variant=p.variant) == first
    assert seed.render(p.spec.columns, p.spec.rows, seed=p.name + "x", variant=p.variant) != first
