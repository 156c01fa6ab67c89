"""The departmental data catalogue (部門數據目錄, issue 21; seed 002 ITIB156/183): every data
set a department holds, open or not — its type, scope and attributes (「數據種類、範疇、屬性」),
classification, personal-data flag, owner, update frequency and sharing conditions — so that
departments find data other departments can share. Each department's data officers keep its
entries; its Departmental Data Officer (部門數據主任) approves them and monitors progress
(:func:`progress`).

Every department's officers may *search* every department's entries (:func:`search`; finding
shareable data is the point of the catalogue) but change only their own department's.

What a department does with a data set (its *disposition*, :class:`~..constants.Disposition`):

* :func:`propose_open` — a draft dataset is created (:func:`.publishing.create_dataset`) and
  linked; it is **open** once the Departmental Data Officer has approved that dataset's
  publication request. The ``open`` disposition is *computed on read* (:func:`with_disposition`,
  :func:`disposition_of`: proposed and its dataset active), so ``publishing.approve`` is not
  touched. Refused for personal data (PDPO: personal data is not opened; open data policy
  (seed 003) §7 「除非有合理原因（例如涉及個人私隱）」) and for classified data;
* :func:`offer_exchange` — offered to other departments as a data product of the consented
  data exchange (:mod:`tungban.exchange`), whose id must be in its catalogue;
* :func:`keep_internal` — with a reason in both languages.

Every write is one transaction; a refusal stores nothing.
"""

from __future__ import annotations

import dataclasses
import re

from django.db import transaction
from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When
from django.utils import timezone

from .. import errors
from ..constants import (
    Classification,
    DatasetState,
    DataType,
    Disposition,
    OrganizationKind,
    SubmissionState,
    UpdateFrequency,
)
from ..models import CatalogueEntry, Dataset, Organization, Submission
from . import publishing

#: Field types of the attributes: Frictionless Table Schema's ``type`` values
#: (https://specs.frictionlessdata.io/table-schema/#types-and-formats).
FIELD_TYPES = (
    "string",
    "integer",
    "number",
    "boolean",
    "date",
    "datetime",
    "time",
    "year",
    "yearmonth",
    "duration",
    "geopoint",
    "geojson",
    "object",
    "array",
    "any",
)
#: An attribute's name: a letter, then letters, digits or ``_`` (at most 63: PostgreSQL's identifier length).
FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
MAX_ATTRIBUTES = 300

#: The fields of an entry a data officer sets (:func:`create_entry`, :func:`update_entry`).
EDITABLE = (
    "title_en",
    "title_zh",
    "data_type",
    "scope_en",
    "scope_zh",
    "attributes",
    "classification",
    "personal_data",
    "owner",
    "update_frequency",
    "sharing_conditions_en",
    "sharing_conditions_zh",
)


# --- attributes ----------------------------------------------------------------------------


def parse_attributes(text: str) -> list[dict]:
    """The attributes written one a line as ``name | type | description_en | description_zh``
    (blank lines skipped): ``[{"name", "type", "description_en", "description_zh"}]``.

    :raises DomainError: ``attributes_required``, ``attribute_line`` (not four parts),
        ``attribute_name``, ``attribute_type`` (not a Table Schema type, :data:`FIELD_TYPES`),
        ``attribute_description`` (a description missing), ``attribute_duplicate``,
        ``too_many_attributes`` — each naming the line at fault, in the request's language."""
    out: list[dict] = []
    seen: set[str] = set()
    for number, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        parts = [p.strip() for p in raw.split("|")]
        if len(parts) != 4:
            raise errors.AttributeLine(line=number)
        name, type_, description_en, description_zh = parts
        if not FIELD_NAME.fullmatch(name):
            raise errors.AttributeName(line=number, name=name)
        type_ = type_.lower()
        if type_ not in FIELD_TYPES:
            raise errors.AttributeType(line=number, type=parts[1], types=", ".join(FIELD_TYPES))
        if not description_en or not description_zh:
            raise errors.AttributeDescription(line=number, name=name)
        if name.lower() in seen:
            raise errors.AttributeDuplicate(line=number, name=name)
        seen.add(name.lower())
        out.append({"name": name, "type": type_, "description_en": description_en, "description_zh": description_zh})
    if not out:
        raise errors.AttributesRequired()
    if len(out) > MAX_ATTRIBUTES:
        raise errors.TooManyAttributes(limit=MAX_ATTRIBUTES)
    return out


def format_attributes(attributes: list[dict]) -> str:
    """The editor's text of ``attributes`` (the inverse of :func:`parse_attributes`)."""
    return "\n".join(
        " | ".join([a.get("name", ""), a.get("type", ""), a.get("description_en", ""), a.get("description_zh", "")])
        for a in attributes or []
    )


def _clean(values: dict) -> dict:
    """The editable fields of ``values`` checked and trimmed (``attributes`` as a list or as
    the editor's text). :raises DomainError: as :func:`parse_attributes`; ``title_required``,
    ``scope_required``, ``owner_required``, ``invalid_choice``."""
    v = {k: values.get(k) for k in EDITABLE}
    for k in (
        "title_en",
        "title_zh",
        "scope_en",
        "scope_zh",
        "owner",
        "sharing_conditions_en",
        "sharing_conditions_zh",
    ):
        v[k] = (v[k] or "").strip()
    if not v["title_en"] or not v["title_zh"]:
        raise errors.TitleRequired()
    if not v["scope_en"] or not v["scope_zh"]:
        raise errors.ScopeRequired()
    if not v["owner"]:
        raise errors.OwnerRequired()
    v["data_type"] = publishing._choice(v["data_type"] or "", DataType, "data_type")
    v["classification"] = publishing._choice(
        v["classification"] or Classification.UNCLASSIFIED, Classification, "classification"
    )
    v["update_frequency"] = publishing._choice(
        v["update_frequency"] or UpdateFrequency.IRREGULAR, UpdateFrequency, "update_frequency"
    )
    attrs = v["attributes"]
    v["attributes"] = parse_attributes(attrs if isinstance(attrs, str) else format_attributes(attrs))
    v["attributes_text"] = format_attributes(v["attributes"])
    v["personal_data"] = bool(v["personal_data"])
    return v


# --- reading -------------------------------------------------------------------------------


def with_disposition(qs: QuerySet | None = None) -> QuerySet:
    """Entries annotated with ``state`` — their disposition as it is now: ``open`` when
    proposed as open data and the linked dataset is published (active), else the stored one."""
    qs = CatalogueEntry.objects.all() if qs is None else qs
    return qs.annotate(
        state=Case(
            When(
                disposition=Disposition.PROPOSED_OPEN,
                dataset__state=DatasetState.ACTIVE,
                then=Value(Disposition.OPEN.value),
            ),
            default=F("disposition"),
            output_field=CharField(),
        )
    )


def disposition_of(entry: CatalogueEntry) -> str:
    """``entry``'s disposition as it is now (see :func:`with_disposition`)."""
    if entry.disposition == Disposition.PROPOSED_OPEN and entry.dataset_id:
        if Dataset.objects.filter(pk=entry.dataset_id, state=DatasetState.ACTIVE).exists():
            return Disposition.OPEN
    return entry.disposition


def entry(pk) -> CatalogueEntry:
    """The entry numbered ``pk`` (any department's). :raises NotFound: ``unknown_catalogue_entry``."""
    try:
        found = with_disposition().select_related("organization", "dataset").filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise errors.UnknownEntry()
    return found


def search(
    q: str = "",
    *,
    organization: str = "",
    disposition: str = "",
    personal_data: bool | None = None,
    data_type: str = "",
) -> QuerySet:
    """Every department's entries matching ``q`` (each word in a title, the scope, the sharing
    conditions, the owner or the attributes' names and descriptions, either language) and the
    filters (``organization``: a provider name; ``disposition``: as :func:`with_disposition`),
    by department and title."""
    qs = with_disposition().select_related("organization", "dataset")
    for word in (q or "").split()[:10]:
        qs = qs.filter(
            Q(title_en__icontains=word)
            | Q(title_zh__icontains=word)
            | Q(scope_en__icontains=word)
            | Q(scope_zh__icontains=word)
            | Q(owner__icontains=word)
            | Q(sharing_conditions_en__icontains=word)
            | Q(sharing_conditions_zh__icontains=word)
            | Q(attributes_text__icontains=word)
        )
    if organization:
        qs = qs.filter(organization__name=organization)
    if disposition:
        qs = qs.filter(state=disposition)
    if personal_data is not None:
        qs = qs.filter(personal_data=personal_data)
    if data_type:
        qs = qs.filter(data_type=data_type)
    return qs.order_by("organization__name", "title_en", "pk")


def can_edit(user, e: CatalogueEntry) -> bool:
    """Whether ``user`` is a data officer (or the DDO) of ``e``'s department."""
    try:
        publishing.role_of(user, e.organization)
    except errors.NotDataOfficer:
        return False
    return True


def is_ddo(user, org: Organization) -> bool:
    try:
        publishing.role_of(user, org, ddo=True)
    except (errors.NotDataOfficer, errors.NotDDO):
        return False
    return True


# --- writing -------------------------------------------------------------------------------


def create_entry(user, org: Organization | str, **values) -> CatalogueEntry:
    """A new entry of ``org``'s catalogue by one of its data officers; ``values``: the fields
    of :data:`EDITABLE` (``attributes`` as a list of dicts or the editor's text).

    :raises Forbidden: ``not_data_officer``. :raises DomainError: as :func:`_clean`."""
    org = publishing.organization(org)
    publishing.role_of(user, org)
    clean = _clean(values)
    with transaction.atomic():
        return CatalogueEntry.objects.create(organization=org, **clean)


def _locked(user, e: CatalogueEntry, *, ddo: bool = False) -> CatalogueEntry:
    publishing.role_of(user, e.organization, ddo=ddo)
    return CatalogueEntry.objects.select_for_update().select_related("organization").get(pk=e.pk)


def update_entry(user, e: CatalogueEntry, **values) -> CatalogueEntry:
    """Change ``e`` (a data officer of its department): its fields as :func:`create_entry`.
    A change withdraws the Departmental Data Officer's approval (approve it again).

    :raises Forbidden: ``not_data_officer`` (another department's officer)."""
    publishing.role_of(user, e.organization)
    clean = _clean(values)
    with transaction.atomic():
        e = _locked(user, e)
        changed = any(getattr(e, k) != v for k, v in clean.items())
        for k, v in clean.items():
            setattr(e, k, v)
        if changed:
            e.ddo_approved_at = None
            e.ddo_approved_by = None
        e.save()
    return e


def approve_entry(user, e: CatalogueEntry) -> CatalogueEntry:
    """The Departmental Data Officer approves ``e`` as it stands (seed 002 ITIB156: the DDO
    includes the department's data in its catalogue).

    :raises Forbidden: ``not_ddo`` (a data officer), ``not_data_officer`` (another department)."""
    with transaction.atomic():
        e = _locked(user, e, ddo=True)
        e.ddo_approved_at = timezone.now()
        e.ddo_approved_by = user
        e.save(update_fields=["ddo_approved_at", "ddo_approved_by", "modified"])
    return e


def _not_open_yet(e: CatalogueEntry) -> None:
    if e.dataset_id and Dataset.objects.filter(pk=e.dataset_id).exclude(state=DatasetState.DELETED).exists():
        raise errors.AlreadyOpen(name=e.dataset.name)


def propose_open(
    user,
    e: CatalogueEntry,
    *,
    name: str,
    groups=(),
    tags=(),
    notes_en: str = "",
    notes_zh: str = "",
) -> Dataset:
    """Propose ``e`` as open data: a draft dataset ``name`` of its department (title from the
    entry, description from ``notes_*`` or its scope, its update frequency) linked to it; the
    disposition becomes ``proposed_open``, and ``open`` once the Departmental Data Officer
    approves the dataset's publication (computed on read, :func:`with_disposition`).

    :raises Conflict: ``personal_data_not_opened`` (PDPO; open data policy §7),
        ``classified_not_opened``, ``already_open``.
    :raises Forbidden: ``not_data_officer``. :raises DomainError: as
        :func:`.publishing.create_dataset` (``invalid_name``, ``name_taken``, ``unknown_group``)."""
    publishing.role_of(user, e.organization)
    with transaction.atomic():
        e = _locked(user, e)
        if e.personal_data:
            raise errors.PersonalDataNotOpened()
        if e.classification != Classification.UNCLASSIFIED:
            raise errors.ClassifiedNotOpened(classification=e.get_classification_display())
        _not_open_yet(e)
        ds = publishing.create_dataset(
            user,
            e.organization,
            name=(name or "").strip(),
            title_en=e.title_en,
            title_zh=e.title_zh,
            notes_en=notes_en or e.scope_en,
            notes_zh=notes_zh or e.scope_zh,
            groups=groups,
            tags=tags,
            update_frequency=e.update_frequency,
        )
        e.dataset = ds
        e.disposition = Disposition.PROPOSED_OPEN
        e.save(update_fields=["dataset", "disposition", "modified"])
    return ds


def exchange_product(product_id: str):
    """The active data product ``product_id`` of the consented data exchange (its catalogue,
    :func:`tungban.exchange.services.catalogue`). :raises NotFound: ``unknown_data_product``."""
    from tungban.exchange import services as exchange

    product = next((p for p in exchange.catalogue() if p.id == product_id), None)
    if product is None:
        raise errors.UnknownProduct(id=product_id)
    return product


def exchange_products(org: Organization) -> list:
    """The consented-exchange products ``org`` may offer (its own: the exchange participant
    whose id is its ``department_code`` in lower case; every product when it has none)."""
    from tungban.exchange import services as exchange

    code = (org.department_code or "").lower()
    return [p for p in exchange.catalogue() if not code or p.provider_id == code]


def offer_exchange(user, e: CatalogueEntry, product_id: str) -> CatalogueEntry:
    """Offer ``e`` to other departments through the consented data exchange as the data
    product ``product_id`` (which its department provides: the exchange participant named by
    its ``department_code``); disposition ``exchange``.

    :raises NotFound: ``unknown_data_product``. :raises Forbidden: ``product_of_another_provider``,
        ``not_data_officer``. :raises Conflict: ``already_open``."""
    publishing.role_of(user, e.organization)
    product_id = (product_id or "").strip()
    product = exchange_product(product_id)
    code = (e.organization.department_code or "").lower()
    if code and product.provider_id != code:
        raise errors.ProductOfAnotherProvider(id=product_id, organization=e.organization.name)
    with transaction.atomic():
        e = _locked(user, e)
        _not_open_yet(e)
        e.product_id = product_id
        e.disposition = Disposition.EXCHANGE
        e.save(update_fields=["product_id", "disposition", "modified"])
    return e


def keep_internal(user, e: CatalogueEntry, *, reason_en: str, reason_zh: str) -> CatalogueEntry:
    """Keep ``e`` internal, with the reason in both languages; disposition ``internal``.

    :raises DomainError: ``reason_required``. :raises Conflict: ``already_open``.
    :raises Forbidden: ``not_data_officer``."""
    publishing.role_of(user, e.organization)
    reason_en, reason_zh = (reason_en or "").strip(), (reason_zh or "").strip()
    if not reason_en or not reason_zh:
        raise errors.ReasonRequired()
    with transaction.atomic():
        e = _locked(user, e)
        _not_open_yet(e)
        e.reason_en, e.reason_zh = reason_en, reason_zh
        e.disposition = Disposition.INTERNAL
        e.product_id = ""
        e.save(update_fields=["reason_en", "reason_zh", "disposition", "product_id", "modified"])
    return e


# --- progress ------------------------------------------------------------------------------


@dataclasses.dataclass
class Progress:
    """One department's figures on the progress dashboard."""

    organization: Organization
    entries: int = 0
    approved: int = 0
    by_disposition: dict[str, int] = dataclasses.field(default_factory=dict)
    datasets_published: int = 0
    entries_pending: int = 0
    submissions_pending: int = 0

    @property
    def open_share(self) -> float | None:
        """The share of its entries opened as open data (0–1), None without entries."""
        return self.by_disposition.get(Disposition.OPEN, 0) / self.entries if self.entries else None


def progress() -> list[Progress]:
    """Every government department's and public body's figures (those with no entry too):
    entries, approved by the Departmental Data Officer, entries by disposition (as
    :func:`with_disposition`), published datasets, entries waiting for the DDO's approval and
    publication requests waiting (seed 002 ITIB156: the DDO monitors progress). By name."""
    orgs = Organization.objects.filter(
        Q(kind__in=[OrganizationKind.GOVERNMENT, OrganizationKind.PUBLIC_BODY]) | Q(catalogue__isnull=False)
    ).distinct()
    rows = {o.pk: Progress(organization=o, by_disposition=dict.fromkeys(Disposition.values, 0)) for o in orgs}
    for r in (
        with_disposition()
        .values("organization", "state")
        .annotate(n=Count("pk"), approved=Count("pk", filter=Q(ddo_approved_at__isnull=False)))
    ):
        p = rows.get(r["organization"])
        if p is None:
            continue
        p.by_disposition[r["state"]] += r["n"]
        p.entries += r["n"]
        p.approved += r["approved"]
    for r in Dataset.objects.filter(state=DatasetState.ACTIVE).values("organization").annotate(n=Count("pk")):
        if r["organization"] in rows:
            rows[r["organization"]].datasets_published = r["n"]
    for r in (
        Submission.objects.filter(state=SubmissionState.PENDING).values("dataset__organization").annotate(n=Count("pk"))
    ):
        if r["dataset__organization"] in rows:
            rows[r["dataset__organization"]].submissions_pending = r["n"]
    for p in rows.values():
        p.entries_pending = p.entries - p.approved
    return sorted(rows.values(), key=lambda p: p.organization.name)


def progress_svg(rows: list[Progress], *, zh: bool = False) -> str:
    """A stacked bar chart of ``rows``' entries by disposition (pygal SVG, no script: it is
    shown as an image beside the table that carries the same figures as text)."""
    import pygal
    from django.utils.translation import gettext as _
    from pygal.style import Style

    style = Style(
        background="white",
        plot_background="white",
        foreground="#1a1a1a",
        foreground_strong="#1a1a1a",
        foreground_subtle="#555555",
        colors=("#455a64", "#b35c00", "#2e7d32", "#005ea5", "#8e24aa"),
        font_family="'Noto Sans CJK TC', 'Noto Sans', sans-serif",
    )
    chart = pygal.HorizontalStackedBar(
        js=[], style=style, width=720, height=max(360, 28 * len(rows) + 120), disable_xml_declaration=True
    )
    chart.title = _("Catalogue entries by disposition")
    chart.x_labels = [p.organization.title_zh if zh else p.organization.title_en for p in rows]
    for value, label in Disposition.choices:
        chart.add(str(label), [p.by_disposition.get(value, 0) for p in rows])
    chart.no_data_text = _("No catalogue entries yet")
    return re.sub(r"<script\b[^>]*>.*?</script>", "", chart.render(is_unicode=True), flags=re.S)
