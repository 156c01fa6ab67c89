"""The open-data demo data (:mod:`tungban.opendata.seed`): at least 200 published datasets in
the 19 categories from at least 15 providers, every CSV valid against its Table Schema,
some with two versions, the departmental catalogues filled, and a second run adds nothing."""

from __future__ import annotations

import pytest

from tungban.exchange import catalogue as exchange_catalogue
from tungban.opendata import seed, storage, tabular
from tungban.opendata.constants import DatasetState, Disposition, SubmissionState, VersionState
from tungban.opendata.models import CatalogueEntry, Dataset, Group, Organization, ResourceVersion, Submission
from tungban.opendata.services import catalogue

pytestmark = pytest.mark.django_db


def check_against_schema(data: bytes, schema: dict) -> int:
    """The number of data rows of the CSV ``data``, which must pass ``schema`` as the
    platform validates an upload (:func:`tungban.opendata.tabular.validate`, raising
    ``table_schema_failure`` otherwise)."""
    return tabular.validate(data, schema).row_count


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
