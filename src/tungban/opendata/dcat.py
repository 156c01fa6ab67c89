"""The catalogue in DCAT-AP 3 (issue 21; DCAT-AP 3.0.0, https://semiceu.github.io/DCAT-AP/releases/3.0.0/),
built with rdflib and serialised as JSON-LD or Turtle.

* :func:`catalog_graph` — the ``dcat:Catalog`` (title, description, publisher, homepage) and
  every *active* dataset (drafts and withdrawn ones are never in it);
* :func:`dataset_graph` — one dataset.

A dataset (``dcat:Dataset``) carries ``dct:identifier``, ``dct:title`` and
``dct:description`` tagged ``@en`` and ``@zh-Hant``, ``dct:publisher`` (a ``foaf:Agent``),
``dcat:theme`` (its categories as ``skos:Concept``), ``dcat:keyword``, ``dct:issued`` and
``dct:modified``, ``dct:accrualPeriodicity`` from the EU frequency vocabulary
(:data:`~tungban.opendata.constants.FREQUENCY_EU`), ``dcat:contactPoint`` (a ``vcard:Kind``)
and one ``dcat:Distribution`` per resource and format (CSV, and JSON and XML for a tabular
resource): ``dcat:accessURL`` (the dataset page), ``dcat:downloadURL`` (the agreed file URL,
``/data/files/<resource uuid>/<filename>``), ``dct:format`` and ``dcat:mediaType`` (EU file
types and IANA media types), ``dct:license``, and for the stored CSV ``dcat:byteSize`` and
``spdx:checksum`` (SHA-256). ``base`` is the site's absolute URL without a trailing slash.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from django.db.models import Count, Max, Q
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD

from .constants import FREQUENCY_EU, LICENCE_URLS, MEDIA_TYPES, DatasetState
from .models import Dataset, Group, Organization

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
FREQ = Namespace("http://publications.europa.eu/resource/authority/frequency/")
FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
IANA = Namespace("https://www.iana.org/assignments/media-types/")

#: dct:format codes (EU file-type vocabulary) of the formats served.
EU_FILE_TYPES = {"CSV": "CSV", "JSON": "JSON", "XML": "XML", "GeoJSON": "GEOJSON", "PDF": "PDF", "XLSX": "XLSX"}

#: Serialisations: format name → (rdflib format, HTTP content type).
FORMATS = {"jsonld": ("json-ld", "application/ld+json"), "ttl": ("turtle", "text/turtle; charset=utf-8")}

CONTEXT = {
    "dcat": str(DCAT),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "skos": str(SKOS),
    "vcard": str(VCARD),
    "spdx": str(SPDX),
    "xsd": str(XSD),
}


def _graph() -> Graph:
    g = Graph()
    for prefix, ns in CONTEXT.items():
        g.bind(prefix, Namespace(ns))
    return g


def _bilingual(g: Graph, subject, predicate, en: str, zh: str) -> None:
    if en:
        g.add((subject, predicate, Literal(en, lang="en")))
    if zh:
        g.add((subject, predicate, Literal(zh, lang="zh-Hant")))


def dataset_uri(base: str, name: str) -> URIRef:
    return URIRef(f"{base}/data/dataset/{name}/")


def file_urls(base: str, resource) -> list[tuple[str, str]]:
    """``(format, download URL)`` of a resource's current file per the agreed URL layout: the
    stored file, and ``.json``/``.xml`` of a tabular one."""
    urls = [(resource.format, f"{base}/data/files/{resource.id}/{resource.filename}")]
    if resource.tabular:
        stem = PurePosixPath(resource.filename).stem
        urls += [(fmt, f"{base}/data/files/{resource.id}/{stem}.{fmt.lower()}") for fmt in ("JSON", "XML")]
    return urls


def _agent(g: Graph, base: str, org) -> URIRef:
    agent = URIRef(f"{base}/data/organization/{org.name}/")
    g.add((agent, RDF.type, FOAF.Agent))
    _bilingual(g, agent, FOAF.name, org.title_en, org.title_zh)
    if org.website:
        g.add((agent, FOAF.homepage, URIRef(org.website)))
    return agent


def _licence(base: str, license_id: str) -> URIRef:
    url = LICENCE_URLS.get(license_id, "")
    return URIRef(url if url.startswith("http") else f"{base}{url}")


def add_dataset(g: Graph, base: str, ds: Dataset) -> URIRef:
    """Add ``ds`` (with ``organization``, ``groups``, ``tags`` and ``resources`` loaded or
    loadable) to ``g``; returns its URI."""
    node = dataset_uri(base, ds.name)
    g.add((node, RDF.type, DCAT.Dataset))
    g.add((node, DCTERMS.identifier, Literal(str(ds.id))))
    _bilingual(g, node, DCTERMS.title, ds.title_en, ds.title_zh)
    _bilingual(g, node, DCTERMS.description, ds.notes_en or ds.title_en, ds.notes_zh or ds.title_zh)
    g.add((node, DCAT.landingPage, node))
    g.add((node, DCTERMS.publisher, _agent(g, base, ds.organization)))
    for group in ds.groups.all():
        theme = URIRef(f"{base}/data/group/{group.name}/")
        g.add((theme, RDF.type, SKOS.Concept))
        _bilingual(g, theme, SKOS.prefLabel, group.title_en, group.title_zh)
        g.add((node, DCAT.theme, theme))
    for tag in ds.tags.all():
        g.add((node, DCAT.keyword, Literal(tag.name)))
    if ds.published_at:
        g.add((node, DCTERMS.issued, Literal(ds.published_at, datatype=XSD.dateTime)))
    g.add((node, DCTERMS.modified, Literal(ds.metadata_modified, datatype=XSD.dateTime)))
    g.add((node, DCTERMS.accrualPeriodicity, FREQ[FREQUENCY_EU.get(ds.update_frequency, "UNKNOWN")]))
    contact = BNode()
    g.add((node, DCAT.contactPoint, contact))
    g.add((contact, RDF.type, VCARD.Kind))
    g.add((contact, VCARD.fn, Literal(ds.organization.title_en, lang="en")))
    g.add((contact, VCARD.fn, Literal(ds.organization.title_zh, lang="zh-Hant")))
    if ds.maintainer_email:
        g.add((contact, VCARD.hasEmail, URIRef(f"mailto:{ds.maintainer_email}")))
    licence = _licence(base, ds.license_id)
    for resource in ds.resources.all():
        if resource.api_url and resource.current_id is None:
            dist = URIRef(f"{base}/data/files/{resource.id}/#api")
            g.add((node, DCAT.distribution, dist))
            g.add((dist, RDF.type, DCAT.Distribution))
            _bilingual(g, dist, DCTERMS.title, resource.name_en, resource.name_zh)
            g.add((dist, DCAT.accessURL, URIRef(resource.api_url)))
            g.add((dist, DCTERMS.license, licence))
            continue
        if resource.current_id is None:
            continue
        current = resource.current
        for fmt, url in file_urls(base, resource):
            dist = URIRef(url)
            g.add((node, DCAT.distribution, dist))
            g.add((dist, RDF.type, DCAT.Distribution))
            _bilingual(g, dist, DCTERMS.title, f"{resource.name_en} ({fmt})", f"{resource.name_zh}（{fmt}）")
            g.add((dist, DCAT.accessURL, node))
            g.add((dist, DCAT.downloadURL, dist))
            g.add((dist, DCTERMS.format, FILE_TYPE[EU_FILE_TYPES.get(fmt, "BIN")]))
            media = MEDIA_TYPES.get(fmt, "application/octet-stream").split(";")[0]
            g.add((dist, DCAT.mediaType, IANA[media]))
            g.add((dist, DCTERMS.license, licence))
            if resource.last_modified:
                g.add((dist, DCTERMS.modified, Literal(resource.last_modified, datatype=XSD.dateTime)))
            if fmt == resource.format:  # the stored bytes: their size and digest
                g.add((dist, DCAT.byteSize, Literal(current.size, datatype=XSD.nonNegativeInteger)))
                checksum = BNode()
                g.add((dist, SPDX.checksum, checksum))
                g.add((checksum, RDF.type, SPDX.Checksum))
                g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
                g.add((checksum, SPDX.checksumValue, Literal(current.sha256, datatype=XSD.hexBinary)))
    return node


def _active():
    return (
        Dataset.objects.filter(state=DatasetState.ACTIVE)
        .select_related("organization")
        .prefetch_related("groups", "tags", "resources__current")
        .order_by("name")
    )


def _catalog_node(g: Graph, base: str) -> URIRef:
    catalog = URIRef(f"{base}/data/")
    g.add((catalog, RDF.type, DCAT.Catalog))
    _bilingual(g, catalog, DCTERMS.title, "tungban open data", "通辦資料一線通")
    _bilingual(
        g,
        catalog,
        DCTERMS.description,
        "Open data published by government bureaux, departments and public bodies.",
        "政府決策局、部門及公營機構發布的開放數據。",
    )
    publisher = URIRef(f"{base}/")
    g.add((publisher, RDF.type, FOAF.Agent))
    _bilingual(g, publisher, FOAF.name, "tungban", "通辦")
    g.add((catalog, DCTERMS.publisher, publisher))
    g.add((catalog, FOAF.homepage, catalog))
    return catalog


def catalog_graph(base: str) -> Graph:
    """The whole catalogue as one graph: a ``dcat:Catalog`` at ``<base>/data/`` listing every
    active dataset (the pages serve :func:`catalog_chunks`, the same triples)."""
    g = _graph()
    catalog = _catalog_node(g, base)
    for ds in _active():
        g.add((catalog, DCAT.dataset, add_dataset(g, base, ds)))
    return g


# The catalogue document, assembled from per-dataset fragments --------------------------------
#
# Serialising the whole catalogue with rdflib costs about 10 s per 1,000 datasets (Turtle;
# JSON-LD 6 s), too slow for a request. Each dataset's part is therefore serialised once and
# kept on disk under TUNGBAN_OPENDATA_FILES/dcat/, named by a digest of everything it is made
# of (the dataset's id and metadata_modified — which every published change moves —, its
# provider's and categories' names, the base URL, the format and FRAGMENT_VERSION): an
# immutable, content-addressed cache every server computes the same way. The document is
# the catalogue's own part followed by the datasets' parts: Turtle allows ``@prefix``
# directives between statements and writes blank nodes inline or with unique labels, so the
# parts concatenate into one valid document; JSON-LD gets one ``@graph`` holding every part's
# node objects under the shared ``@context``.

#: Change when the fragments' content changes, so cached fragments of older code are not used.
FRAGMENT_VERSION = "1"


def _fragment_key(base: str, fmt: str, ds: Dataset) -> str:
    parts = [FRAGMENT_VERSION, base, fmt, str(ds.id), ds.metadata_modified.isoformat()]
    parts += [ds.organization.name, ds.organization.title_en, ds.organization.title_zh, ds.organization.website]
    parts += [f"{g.name}:{g.title_en}:{g.title_zh}" for g in ds.groups.all()]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _fragment_path(key: str, fmt: str) -> Path:
    from django.conf import settings

    return Path(settings.TUNGBAN_OPENDATA_FILES) / "dcat" / key[:2] / f"{key}.{fmt}"


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _jsonld_items(g: Graph) -> bytes:
    """The node objects of ``g`` in compacted JSON-LD (shared :data:`CONTEXT`), comma-joined."""
    doc = json.loads(g.serialize(format="json-ld", context=CONTEXT, auto_compact=True))
    items = doc.get("@graph") if isinstance(doc, dict) and "@graph" in doc else [doc]
    for item in items:
        if isinstance(item, dict):
            item.pop("@context", None)
    return ",".join(json.dumps(i, ensure_ascii=False, separators=(",", ":")) for i in items).encode("utf-8")


def _part(g: Graph, fmt: str) -> bytes:
    if fmt == "jsonld":
        return _jsonld_items(g)
    return g.serialize(format="turtle").encode("utf-8")


def dataset_fragment(base: str, fmt: str, ds: Dataset) -> bytes:
    """``ds``'s part of the catalogue document (its triples and ``<catalog> dcat:dataset
    <ds>``), from the fragment cache or built and kept there."""
    path = _fragment_path(_fragment_key(base, fmt, ds), fmt)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    g = _graph()
    g.add((URIRef(f"{base}/data/"), DCAT.dataset, add_dataset(g, base, ds)))
    data = _part(g, fmt)
    _write_atomically(path, data)
    return data


def catalog_chunks(base: str, fmt: str) -> Iterator[bytes]:
    """The catalogue document in ``fmt`` (``jsonld`` or ``ttl``), in pieces (for a streaming
    response): the catalogue's own part, then each active dataset's fragment, by name."""
    g = _graph()
    _catalog_node(g, base)
    if fmt == "jsonld":
        yield b'{"@context":' + json.dumps(CONTEXT).encode() + b',"@graph":[' + _jsonld_items(g)
        for ds in _active().iterator(chunk_size=500):
            yield b"," + dataset_fragment(base, fmt, ds)
        yield b"]}\n"
    else:
        yield _part(g, fmt)
        for ds in _active().iterator(chunk_size=500):
            yield b"\n" + dataset_fragment(base, fmt, ds)


def dataset_graph(base: str, ds: Dataset) -> Graph:
    g = _graph()
    add_dataset(g, base, ds)
    return g


def serialise(g: Graph, fmt: str) -> bytes:
    """``g`` as ``fmt`` (a key of :data:`FORMATS`), UTF-8."""
    rdf_format, _ctype = FORMATS[fmt]
    if rdf_format == "json-ld":
        return g.serialize(format="json-ld", context=CONTEXT, auto_compact=True).encode("utf-8")
    return g.serialize(format=rdf_format).encode("utf-8")


def catalog_etag(fmt: str, base: str) -> str:
    """A strong validator of the catalogue document: changes whenever a dataset is published,
    changed or withdrawn (every such change moves ``metadata_modified``), the number of active
    datasets changes, or a provider's or category's name does."""
    agg = Dataset.objects.aggregate(
        modified=Max("metadata_modified"), active=Count("pk", filter=Q(state=DatasetState.ACTIVE))
    )
    names = hashlib.sha256()
    for row in Organization.objects.order_by("pk").values_list("pk", "name", "title_en", "title_zh", "website"):
        names.update(repr(row).encode())
    for row in Group.objects.order_by("pk").values_list("pk", "name", "title_en", "title_zh"):
        names.update(repr(row).encode())
    raw = f"{FRAGMENT_VERSION}|{fmt}|{base}|{agg['modified']}|{agg['active']}|{names.hexdigest()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]
