"""Issue 16 (staff16) item 5: every account-event kind the platform records has a readable
label, in English and Traditional Chinese (``counter/events.py``), so staff history never
shows a raw code such as ``activation_code_issued``."""

from __future__ import annotations

import ast
from pathlib import Path

from django.utils import translation

import tungban
from tungban.counter.events import EVENT_LABELS, event_label
from tungban.identity.models import ResidentStatus

SRC = Path(tungban.__file__).parent


def _on_audit_events(func) -> bool:
    """``func`` is ``AuditEvent.objects.create`` (or ``<module>.AuditEvent.objects.create``),
    not another model's ``create`` with an ``action`` field (e.g. opendata's DatasetEvent)."""
    manager = getattr(func, "value", None)
    model = getattr(manager, "value", None)
    return getattr(manager, "attr", "") == "objects" and (
        getattr(model, "id", "") == "AuditEvent" or getattr(model, "attr", "") == "AuditEvent"
    )


def _emitted_kinds() -> set[str]:
    """Every ``AuditEvent.action`` written in the source: ``audit(resident, "kind", …)``
    calls, ``AuditEvent(…, action="kind")`` / ``AuditEvent.objects.create(action="kind")``,
    and ``status_<status>`` (:func:`tungban.identity.services.set_status`)."""
    kinds = {f"status_{s}" for s in ResidentStatus.values}
    for path in SRC.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "audit" and len(node.args) >= 2:
                arg = node.args[1]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    kinds.add(arg.value)
            if name == "AuditEvent" or (name == "create" and _on_audit_events(node.func)):
                for kw in node.keywords:
                    if kw.arg == "action" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                        kinds.add(kw.value.value)
    return kinds


def test_the_scan_finds_the_known_kinds():
    kinds = _emitted_kinds()
    assert {"registered", "activation_code_issued", "device_bound", "rebind_requested", "status_suspended"} <= kinds


def test_every_emitted_event_kind_has_a_label():
    missing = _emitted_kinds() - set(EVENT_LABELS)
    assert not missing, f"add labels to tungban/counter/events.py EVENT_LABELS for: {sorted(missing)}"


def test_every_label_is_translated_to_chinese():
    untranslated = []
    for kind, label in EVENT_LABELS.items():
        with translation.override("en"):
            english = str(label)
        with translation.override("zh-hant"):
            chinese = str(label)
        if chinese == english:
            untranslated.append(kind)
    assert not untranslated


def test_an_unknown_kind_is_never_shown_raw():
    with translation.override("en"):
        assert event_label("some_new_kind") == "Other account event"
