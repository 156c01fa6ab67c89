"""The e-services catalogue's documents in the one search (issue 22), registered in
:class:`~tungban.eservices.apps.EservicesConfig.ready` and rebuilt by
:func:`tungban.eservices.services.catalogue.load_catalogue` in its transaction:

* ``service``: each listed service (name, summary and description, its department; keywords:
  its category), "Apply online" for fully electronic services, "About this service" and
  "Ask 1823"; popularity: its applications submitted;
* ``form``: each form's current version (its title), "Apply" through the first listed service
  that uses it;
* ``field_help``: each field of a form's current version that has help text (label; help text
  and the form's title), pointing at the service's page (the fields themselves are behind the
  resident's login, on the application's pages).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Q
from django.urls import reverse

from tungban.search.sources import Document, register

from .models import Application, FormVersion, Service, State

#: The 1823 page where a resident asks about a service (issue 22, part scases).
ASK_URL = "/1823/new/"


def _service_actions(s: Service) -> tuple[dict, ...]:
    page = reverse("eservices_catalogue:service", args=[s.slug])
    actions = []
    if s.online:
        actions.append(
            {
                "kind": "apply",
                "url": reverse("eservices:apply", args=[s.slug]),
                "label_en": "Apply online",
                "label_zh": "網上申請",
            }
        )
    actions.append({"kind": "read", "url": page, "label_en": "About this service", "label_zh": "服務詳情"})
    actions.append(
        {"kind": "ask", "url": f"{ASK_URL}?service={s.slug}", "label_en": "Ask 1823", "label_zh": "向1823查詢"}
    )
    return tuple(actions)


def service_document(s: Service, popularity: int = 0) -> Document:
    """The search document of service ``s`` (its department loaded)."""
    return Document(
        kind="service",
        ref=s.slug,
        title_en=s.name_en,
        title_zh=s.name_zh,
        text_en="\n".join(t for t in (s.summary_en, s.description_en) if t),
        text_zh="\n".join(t for t in (s.summary_zh, s.description_zh) if t),
        department=s.department_id,
        department_en=s.department.name_en,
        department_zh=s.department.name_zh,
        url=reverse("eservices_catalogue:service", args=[s.slug]),
        actions=_service_actions(s),
        keywords=s.category.replace("-", " "),
        popularity=popularity,
    )


def _listed():
    return Service.objects.filter(listed=True).select_related("department", "form").order_by("slug")


def services() -> Iterator[Document]:
    """Every listed service's document."""
    used = dict(
        Application.objects.exclude(state=State.DRAFT).values_list("service_id").annotate(n=Count("pk")).order_by()
    )
    for s in _listed():
        yield service_document(s, used.get(s.pk, 0))


def _current_versions() -> dict[int, FormVersion]:
    current: dict[int, FormVersion] = {}
    for v in FormVersion.objects.select_related("form").order_by("form_id", "number"):
        current[v.form_id] = v
    return current


def _first_service_of_form() -> dict[int, Service]:
    first: dict[int, Service] = {}
    for s in _listed().filter(~Q(form=None)):
        first.setdefault(s.form_id, s)
    return first


def forms() -> Iterator[Document]:
    """Every form's document, by its current version, applied for through a service using it."""
    services_of = _first_service_of_form()
    for form_id, v in _current_versions().items():
        s = services_of.get(form_id)
        if s is None:
            continue  # a form no listed service uses is not offered to residents
        yield Document(
            kind="form",
            ref=v.form.slug,
            title_en=v.form.title_en,
            title_zh=v.form.title_zh,
            text_en=f"Form for: {s.name_en}. {s.summary_en}",
            text_zh=f"用於：{s.name_zh}。{s.summary_zh}",
            department=s.department_id,
            department_en=s.department.name_en,
            department_zh=s.department.name_zh,
            url=reverse("eservices_catalogue:service", args=[s.slug]),
            actions=_service_actions(s)[:1]
            if s.online
            else (
                {
                    "kind": "read",
                    "url": reverse("eservices_catalogue:service", args=[s.slug]),
                    "label_en": "How to apply",
                    "label_zh": "申請方法",
                },
            ),
        )


def field_help() -> Iterator[Document]:
    """Every field with help text of every form's current version."""
    services_of = _first_service_of_form()
    for form_id, v in _current_versions().items():
        s = services_of.get(form_id)
        if s is None:
            continue
        page = reverse("eservices_catalogue:service", args=[s.slug])
        for name, f in (v.layout.get("fields") or {}).items():
            help_en, help_zh = f.get("help_en", ""), f.get("help_zh", "")
            if not (help_en or help_zh):
                continue
            yield Document(
                kind="field_help",
                ref=f"{v.form.slug}.{name}",
                title_en=f"{f.get('label_en', name)} ({v.form.title_en})",
                title_zh=f"{f.get('label_zh', name)}（{v.form.title_zh}）",
                text_en=help_en,
                text_zh=help_zh,
                department=s.department_id,
                department_en=s.department.name_en,
                department_zh=s.department.name_zh,
                url=page,
                actions=({"kind": "read", "url": page, "label_en": "About the form", "label_zh": "表格詳情"},),
            )


def register_sources() -> None:
    register("service", label_en="Services", label_zh="服務", documents=services)
    register("form", label_en="Forms", label_zh="表格", documents=forms)
    register("field_help", label_en="Help with forms", label_zh="填表說明", documents=field_help)
