"""Issue 16 (staff16) item 4: the Django admin in Traditional Chinese shows no English
fragments such as "同意s": every model of the platform names itself (verbose_name and
verbose_name_plural) and every app names itself, in both languages."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.utils import translation

from tungban.testing.factories import login_staff, staff_user


def _ours():
    return [
        m
        for m in apps.get_models()
        if m.__module__.startswith("tungban.") and not m.__module__.startswith("tungban.testing.")
    ]


def _both(text) -> tuple[str, str]:
    with translation.override("en"):
        en = str(text)
    with translation.override("zh-hant"):
        zh = str(text)
    return en, zh


def test_every_model_names_itself_in_both_languages():
    problems = []
    for model in _ours():
        for attr in ("verbose_name", "verbose_name_plural"):
            if attr not in model._meta.original_attrs:
                problems.append(f"{model._meta.label}: no {attr}")
                continue
            en, zh = _both(getattr(model._meta, attr))
            if en == zh or re.search(
                r"[A-Za-z]{2,}", zh.replace("DPoP", "").replace("PKCE", "").replace("Open311", "")
            ):
                problems.append(f"{model._meta.label}.{attr}: {en!r} → {zh!r}")
    assert not problems, "\n".join(problems)


def test_every_app_names_itself_in_both_languages():
    problems = []
    for config in apps.get_app_configs():
        if config.name.startswith("tungban.") and not config.name.startswith("tungban.testing."):
            en, zh = _both(config.verbose_name)
            if en == zh:
                problems.append(f"{config.label}: {en!r}")
    assert not problems, problems


@pytest.mark.django_db
def test_the_admin_index_in_chinese_has_no_english_plurals(client):
    login_staff(client, staff_user("admin"))
    client.cookies["tungban_language"] = "zh-hant"
    html = client.get("/admin/").content.decode()
    assert not re.findall(r"[\u4e00-\u9fff\uff09]s\b", html)
