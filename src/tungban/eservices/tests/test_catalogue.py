"""The catalogue files (issue 17, "Catalogue"): loaded all or nothing, idempotently, with
problems naming file and field; a published form version cannot change."""

from __future__ import annotations

import json
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tungban.core.errors import DomainError
from tungban.eservices import services
from tungban.eservices.models import Department, FormVersion, Service


def _copy(tmp_path):
    root = tmp_path / "catalogue"
    shutil.copytree(services.DEFAULT_ROOT, root)
    return root


def test_the_shipped_catalogue_loads_and_loading_again_changes_nothing(catalogue):
    assert Service.objects.filter(online=True).count() >= 3
    swd = Service.objects.get(slug="senior-citizen-card")
    assert swd.department.name_zh == "社會福利署" and swd.credential_type == "senior-citizen-card"
    assert swd.form.current_version().number == 1
    fehd = Service.objects.get(slug="temporary-hawker-licence")
    assert fehd.second_approval is True and fehd.fee_items[0]["code"] == "licence"
    assert "amount_cents" not in fehd.fee_items[0]  # amounts are the fee schedule's (issue 18)
    assert [r["amount_cents"] for r in services.fees.fee_rows(fehd)] == [35000]
    before = {v.pk: v.digest for v in FormVersion.objects.all()}
    counts = services.load_catalogue()
    assert counts["versions_added"] == 0
    assert {v.pk: v.digest for v in FormVersion.objects.all()} == before


def test_a_changed_published_version_is_refused_and_nothing_is_loaded(catalogue, tmp_path):
    root = _copy(tmp_path)
    path = root / "forms" / "swd-senior-citizen-card" / "v1.json"
    doc = json.loads(path.read_text())
    doc["layout"]["fields"]["family_name"]["label_en"] = "Family name"
    path.write_text(json.dumps(doc))
    (root / "departments.toml").write_text(
        (root / "departments.toml").read_text() + '\n[[department]]\ncode = "NEW"\nname_en = "New"\nname_zh = "新"\n'
    )
    with pytest.raises(DomainError) as caught:
        services.load_catalogue(root)
    assert caught.value.code == "form_version_changed"
    assert not Department.objects.filter(code="NEW").exists()  # all or nothing


def test_a_new_version_is_published_beside_the_old_one(catalogue, tmp_path):
    root = _copy(tmp_path)
    folder = root / "forms" / "swd-senior-citizen-card"
    doc = json.loads((folder / "v1.json").read_text())
    doc["version"] = 2
    doc["layout"]["fields"]["family_name"]["label_en"] = "Family name"
    (folder / "v2.json").write_text(json.dumps(doc))
    assert services.load_catalogue(root)["versions_added"] == 1
    assert Service.objects.get(slug="senior-citizen-card").form.current_version().number == 2


def test_problems_name_the_file_and_the_field(catalogue, tmp_path):
    root = _copy(tmp_path)
    svc = root / "services" / "swd" / "senior-citizen-card.toml"
    svc.write_text(svc.read_text().replace('identity_login = "required"', 'identity_login = "maybe"'))
    form = root / "forms" / "fsd-fire-service-installation-certificate" / "v1.json"
    doc = json.loads(form.read_text())
    doc["layout"]["pages"][0]["fields"].append("no_such_field")
    form.write_text(json.dumps(doc))
    with pytest.raises(DomainError) as caught:
        services.load_catalogue(root)
    problems = caught.value.details["problems"]
    assert any(p.startswith("services/swd/senior-citizen-card.toml: identity_login:") for p in problems), problems
    assert any(
        p.startswith("forms/fsd-fire-service-installation-certificate/v1.json: layout.pages[0].fields")
        and "no_such_field" in p
        for p in problems
    ), problems


def test_a_service_naming_an_unknown_credential_type_is_refused(catalogue, tmp_path):
    root = _copy(tmp_path)
    svc = root / "services" / "fsd" / "fire-service-installation-certificate.toml"
    svc.write_text(svc.read_text().replace('"fire-safety-certificate"', '"no-such-type"'))
    with pytest.raises(DomainError) as caught:
        services.load_catalogue(root)
    assert any("licence.credential_type" in p for p in caught.value.details["problems"])


def test_the_command_prints_problems_and_fails(catalogue, tmp_path, capsys):
    root = _copy(tmp_path)
    (root / "services" / "swd" / "broken.toml").write_text("department = [")
    with pytest.raises(CommandError):
        call_command("load_catalogue", str(root))
    assert "services/swd/broken.toml" in capsys.readouterr().err
    call_command("load_catalogue")
    assert "0 new versions" in capsys.readouterr().out


def test_each_definition_is_checked_once_and_changes_are_written_in_bulk(catalogue, tmp_path, monkeypatch):
    """Loading again checks no published definition (they were checked when loaded); a changed
    service file updates that service; a new version is checked once and added."""
    from tungban.eservices.services import forms

    calls = []
    real = forms.check_definition
    monkeypatch.setattr(forms, "check_definition", lambda s, lay: calls.append(1) or real(s, lay))
    root = _copy(tmp_path)
    services.load_catalogue(root)
    assert calls == []
    path = root / "services" / "swd" / "senior-citizen-card.toml"
    path.write_text(path.read_text().replace('name_en = "Senior Citizen Card application"', 'name_en = "Senior card"'))
    folder = root / "forms" / "swd-senior-citizen-card"
    doc = json.loads((folder / "v1.json").read_text())
    doc["version"] = 2
    (folder / "v2.json").write_text(json.dumps(doc))
    other = Service.objects.get(slug="temporary-hawker-licence")
    assert services.load_catalogue(root)["versions_added"] == 1
    assert calls == [1]  # v2 only
    assert Service.objects.get(slug="senior-citizen-card").name_en == "Senior card"
    assert Service.objects.get(slug="temporary-hawker-licence").source_digest == other.source_digest
    assert FormVersion.objects.get(form__slug="swd-senior-citizen-card", number=2).digest == forms.definition_digest(
        doc["schema"], doc["layout"]
    )
