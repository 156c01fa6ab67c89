"""Issue 21 acceptance 3: the DCAT-AP 3 catalogue and dataset documents parse with rdflib in
both serialisations (JSON-LD and Turtle) and the catalogue carries every active dataset —
compared with the database — and no draft or withdrawn one; strong ETags and 304."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from tungban.opendata.constants import DatasetState
from tungban.opendata.dcat import FREQ, SPDX
from tungban.opendata.models import Dataset
from tungban.opendata.services import publishing

from .conftest import CSV, make_published

pytestmark = pytest.mark.django_db

BASE = "http://testserver"
FORMATS = {"jsonld": "json-ld", "ttl": "turtle"}


@pytest.fixture(autouse=True)
def _files(settings, tmp_path):
    settings.TUNGBAN_OPENDATA_FILES = tmp_path / "opendata"


@pytest.fixture
def catalogue(groups, officer, ddo, org):
    """Four active datasets, one withdrawn, one draft and one waiting for approval."""
    made = [
        make_published(officer, ddo, org, name=f"set-{i}", data=CSV + f"Sha Tin,2026-11-0{i},{i}\n".encode())
        for i in range(1, 5)
    ]
    gone = make_published(officer, ddo, org, name="withdrawn-set")[0]
    publishing.withdraw(ddo, gone, reason_en="Replaced.", reason_zh="已被取代。")
    publishing.create_dataset(officer, org, name="draft-set", title_en="Draft", title_zh="草稿")
    pending = publishing.create_dataset(officer, org, name="pending-set", title_en="Pending", title_zh="待批")
    res = publishing.add_resource(officer, pending, name_en="F", name_zh="檔", filename="f.csv")
    from tungban.opendata.services import versions

    versions.add_version(officer, res, CSV)
    publishing.submit(officer, pending)
    return made


def body(resp) -> bytes:
    return b"".join(resp.streaming_content) if resp.streaming else resp.content


def parse(body: bytes, fmt: str) -> Graph:
    g = Graph()
    g.parse(data=body.decode("utf-8"), format=FORMATS[fmt], publicID=BASE + "/")
    return g


@pytest.mark.parametrize("fmt", ["jsonld", "ttl"])
def test_catalogue_carries_every_active_dataset_and_nothing_else(client, catalogue, fmt):
    resp = client.get(f"/data/catalog.{fmt}")
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/ld+json" if fmt == "jsonld" else "text/turtle")
    g = parse(body(resp), fmt)
    catalogs = list(g.subjects(RDF.type, DCAT.Catalog))
    assert catalogs == [URIRef(f"{BASE}/data/")]
    listed = {str(o) for o in g.objects(catalogs[0], DCAT.dataset)}
    rows = g.query(
        "SELECT ?id WHERE { ?c a dcat:Catalog ; dcat:dataset ?d . ?d a dcat:Dataset ; dct:identifier ?id }",
        initNs={"dcat": DCAT, "dct": DCTERMS},
    )
    identifiers = {str(r.id) for r in rows}
    active = Dataset.objects.filter(state=DatasetState.ACTIVE)
    assert identifiers == {str(pk) for pk in active.values_list("pk", flat=True)}
    assert listed == {f"{BASE}/data/dataset/{n}/" for n in active.values_list("name", flat=True)}
    assert len(identifiers) == 4
    others = Dataset.objects.exclude(state=DatasetState.ACTIVE).values_list("name", flat=True)
    assert set(others) == {"withdrawn-set", "draft-set", "pending-set"}
    for name in others:
        assert (URIRef(f"{BASE}/data/dataset/{name}/"), None, None) not in g


@pytest.mark.parametrize("fmt", ["jsonld", "ttl"])
def test_dataset_document_has_the_dcat_ap_properties(client, catalogue, fmt):
    ds, res, version = catalogue[0]
    resp = client.get(f"/data/dataset/{ds.name}.{fmt}")
    assert resp.status_code == 200
    g = parse(body(resp), fmt)
    node = URIRef(f"{BASE}/data/dataset/{ds.name}/")
    assert (node, RDF.type, DCAT.Dataset) in g
    assert (node, DCTERMS.identifier, Literal(str(ds.id))) in g
    assert (node, DCTERMS.title, Literal("Traffic counts", lang="en")) in g
    assert (node, DCTERMS.title, Literal("交通流量", lang="zh-Hant")) in g
    assert (node, DCTERMS.description, Literal("按地區及日期統計的車輛數目。", lang="zh-Hant")) in g
    publisher = g.value(node, DCTERMS.publisher)
    assert (publisher, RDF.type, URIRef("http://xmlns.com/foaf/0.1/Agent")) in g
    assert {str(k) for k in g.objects(node, DCAT.keyword)} == {"traffic", "交通"}
    assert g.value(node, DCAT.theme) == URIRef(f"{BASE}/data/group/transport/")
    assert g.value(node, DCTERMS.accrualPeriodicity) == FREQ["IRREG"]
    assert g.value(node, DCTERMS.modified) is not None and g.value(node, DCTERMS.issued) is not None
    assert g.value(node, DCAT.contactPoint) is not None
    dists = set(g.objects(node, DCAT.distribution))
    assert {str(d) for d in dists} == {f"{BASE}/data/files/{res.id}/counts.{ext}" for ext in ("csv", "json", "xml")}
    csv_dist = URIRef(f"{BASE}/data/files/{res.id}/counts.csv")
    assert g.value(csv_dist, DCAT.downloadURL) == csv_dist
    assert int(g.value(csv_dist, DCAT.byteSize)) == version.size
    checksum = g.value(csv_dist, SPDX.checksum)
    assert str(g.value(checksum, SPDX.checksumValue)) == version.sha256
    assert g.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
    assert str(g.value(csv_dist, DCAT.mediaType)).endswith("/text/csv")
    assert g.value(csv_dist, DCTERMS.license) == URIRef(f"{BASE}/data/terms/")


def test_withdrawn_and_draft_datasets_have_no_document(client, catalogue):
    assert client.get("/data/dataset/withdrawn-set.ttl").status_code == 404
    assert client.get("/data/dataset/draft-set.jsonld").status_code == 404


def test_catalogue_etag_and_304(client, catalogue, ddo):
    first = client.get("/data/catalog.ttl")
    etag = first["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = client.get("/data/catalog.ttl", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert client.get("/data/catalog.jsonld")["ETag"] != etag  # each serialisation its own
    ds = catalogue[0][0]
    publishing.withdraw(ddo, ds, reason_en="Gone.", reason_zh="已移除。")
    changed = client.get("/data/catalog.ttl", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert f"/data/dataset/{ds.name}/".encode() not in body(changed)
    ds_doc = client.get(f"/data/dataset/{catalogue[1][0].name}.jsonld")
    assert (
        client.get(f"/data/dataset/{catalogue[1][0].name}.jsonld", HTTP_IF_NONE_MATCH=ds_doc["ETag"]).status_code == 304
    )


def test_catalogue_follows_changes_to_datasets_and_providers(client, catalogue, org, settings):
    """The catalogue is assembled from cached per-dataset fragments: a changed dataset or
    provider name must show at once, and the cached fragments must be reused otherwise."""
    first = body(client.get("/data/catalog.ttl"))
    fragments = sorted((settings.TUNGBAN_OPENDATA_FILES / "dcat").rglob("*.ttl"))
    assert len(fragments) == 4  # one per active dataset
    assert body(client.get("/data/catalog.ttl")) == first  # the same bytes from the cache
    assert sorted((settings.TUNGBAN_OPENDATA_FILES / "dcat").rglob("*.ttl")) == fragments
    etag = client.get("/data/catalog.ttl")["ETag"]
    org.title_en = "Transport Department (renamed)"
    org.save()
    resp = client.get("/data/catalog.ttl", HTTP_IF_NONE_MATCH=etag)
    assert resp.status_code == 200 and resp["ETag"] != etag
    g = parse(body(resp), "ttl")
    names = {
        str(o)
        for o in g.objects(URIRef(f"{BASE}/data/organization/{org.name}/"), None)
        if getattr(o, "language", None) == "en"
    }
    assert names == {"Transport Department (renamed)"}
    ds = catalogue[0][0]
    Dataset.objects.filter(pk=ds.pk).update(
        title_en="Counts, revised", metadata_modified=ds.metadata_modified.replace(year=2030)
    )
    g = parse(body(client.get("/data/catalog.ttl")), "ttl")
    node = URIRef(f"{BASE}/data/dataset/{ds.name}/")
    assert {str(t) for t in g.objects(node, DCTERMS.title)} == {"Counts, revised", "交通流量"}
    g = parse(body(client.get("/data/catalog.jsonld")), "jsonld")
    assert (node, DCTERMS.title, Literal("Counts, revised", lang="en")) in g
    assert len(set(g.subjects(RDF.type, DCAT.Dataset))) == 4


def test_warm_command_builds_the_fragments(catalogue, settings):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("opendata_dcat", "--base", BASE, stdout=out)
    assert "catalog.jsonld:" in out.getvalue() and "catalog.ttl:" in out.getvalue()
    assert len(list((settings.TUNGBAN_OPENDATA_FILES / "dcat").rglob("*.ttl"))) == 4
    assert len(list((settings.TUNGBAN_OPENDATA_FILES / "dcat").rglob("*.jsonld"))) == 4
