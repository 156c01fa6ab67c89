"""Start-up checks of the bank's keys and the statements' schemas (review finding 14): one HMAC
key per direction (``payments.E003`` refuses the same key twice); a schema folder that is no
folder stops start-up (``payments.E004``); ``check --deploy`` warns while the official camt
schemas are missing (``payments.W001``), the check being off by default."""

from __future__ import annotations

import pytest
from django.core import checks

# Django's model checks ask the database what it supports (JSONField on SQLite): passed
# before only when an earlier test in the same process had asked already.
pytestmark = pytest.mark.django_db


def _ids(**kwargs) -> set[str]:
    return {m.id for m in checks.run_checks(**kwargs) if m.id.startswith("payments.")}


def test_one_key_for_both_directions_is_refused(settings):
    assert "payments.E003" not in _ids()
    assert settings.TUNGBAN_PAYMENTS_BANK_SECRET != settings.TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET  # generated apart
    settings.TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET = settings.TUNGBAN_PAYMENTS_BANK_SECRET
    (found,) = [m for m in checks.run_checks() if m.id == "payments.E003"]
    assert found.is_serious() and "TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET" in found.msg


def test_the_schema_folder_must_exist_and_deploy_checks_warn_without_the_schemas(settings, tmp_path):
    settings.TUNGBAN_PAYMENTS_CAMT_XSD_DIR = ""
    assert "payments.E004" not in _ids()
    assert "payments.W001" in _ids(include_deployment_checks=True)  # off by default: said so

    settings.TUNGBAN_PAYMENTS_CAMT_XSD_DIR = str(tmp_path / "no-such-folder")
    assert "payments.E004" in _ids()

    settings.TUNGBAN_PAYMENTS_CAMT_XSD_DIR = str(tmp_path)
    (tmp_path / "camt.053.001.08.xsd").write_text("<xs:schema/>")
    assert "payments.E004" not in _ids()
    assert "payments.W001" in _ids(include_deployment_checks=True)  # camt.054 still missing
    (tmp_path / "camt.054.001.08.xsd").write_text("<xs:schema/>")
    assert "payments.W001" not in _ids(include_deployment_checks=True)
