"""Issue 21 acceptance 4, end to end in headless Chromium, in English and in Chinese: a
department's data officer logs in (password and TOTP), creates a dataset and uploads a CSV
file, and submits it; the Departmental Data Officer (another user) logs in and approves it; a
member of the public (a fresh browser context, at phone width) finds it on /data/ with a
two-character Chinese word of its title and downloads the CSV — the same bytes. axe-core
finds nothing on any page visited."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tungban.opendata.constants import DatasetState
from tungban.opendata.models import Dataset
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT
from tungban.testing.factories import staff_login_page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
CSV = "stop_code,name_en,name_zh,district\nTD001,Central Ferry Piers,中環碼頭,Central and Western\nTD002,Wan Chai North,灣仔北,Wan Chai\n".encode()


@pytest.fixture
def files(settings, tmp_path):
    settings.TUNGBAN_OPENDATA_FILES = tmp_path / "opendata"


def _context(browser, lang, **kw):
    ctx = browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", **kw)
    ctx.set_default_timeout(TIMEOUT)
    return ctx


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_officer_publishes_ddo_approves_public_finds_and_downloads(
    issuer, e2e_browser, files, groups, org, officer, ddo, tmp_path, lang
):
    base = issuer
    name = f"bus-stops-{lang}"

    # 1. The data officer creates the dataset, uploads the CSV and submits it.
    ctx = _context(e2e_browser, lang)
    page = ctx.new_page()
    staff_login_page(page, base, officer, "/staff/data/")
    assert_no_violations(page, f"desk home ({lang})")
    page.click("#new-dataset")
    page.wait_for_url(f"{base}/staff/data/new/")
    assert_no_violations(page, f"new dataset form ({lang})")
    page.fill("#id_name", name)
    page.fill("#id_title_en", "Franchised bus stops")
    page.fill("#id_title_zh", "專營巴士站位置")
    page.fill("#id_notes_en", "Where the franchised buses stop.")
    page.fill("#id_notes_zh", "專營巴士站的位置。")
    page.check("input[name=groups][value=transport]")
    page.fill("#id_tags", "bus, 巴士")
    page.select_option("#id_update_frequency", "monthly")
    page.click("#create-dataset")
    page.wait_for_url(f"{base}/staff/data/dataset/{name}/")
    assert_no_violations(page, f"draft dataset ({lang})")
    upload = tmp_path / "bus-stops.csv"
    upload.write_bytes(CSV)
    page.fill("#id_res-name_en", "Bus stops")
    page.fill("#id_res-name_zh", "巴士站")
    page.set_input_files("#id_res-file", str(upload))
    page.click("#add-resource")
    page.wait_for_selector("section[data-resource]")
    page.fill("#id_sub-note", "First publication.")
    page.click("#submit-dataset")
    page.wait_for_selector("#pending")
    assert_no_violations(page, f"submitted dataset ({lang})")
    ctx.close()
    assert Dataset.objects.get(name=name).state == DatasetState.DRAFT

    # 2. The Departmental Data Officer approves it.
    ctx = _context(e2e_browser, lang)
    page = ctx.new_page()
    staff_login_page(page, base, ddo, "/staff/data/approvals/")
    assert_no_violations(page, f"approvals queue ({lang})")
    page.click(f"li[data-name={name}] a")
    page.wait_for_selector("#approve")
    assert "TD001" in page.text_content("table")  # the preview of the new file
    assert_no_violations(page, f"approval page ({lang})")
    page.click("#approve")
    page.wait_for_url(f"{base}/staff/data/approvals/")
    page.wait_for_selector("#no-approvals")
    assert_no_violations(page, f"approvals queue, empty ({lang})")
    ctx.close()
    assert Dataset.objects.get(name=name).state == DatasetState.ACTIVE

    # 3. A member of the public finds it with a Chinese word of its title and downloads the CSV.
    ctx = _context(e2e_browser, lang, viewport=PHONE, accept_downloads=True)
    page = ctx.new_page()
    page.goto(f"{base}/data/")
    assert_no_violations(page, f"open data search ({lang})")
    page.fill("#q", "巴士")
    page.click("#search-button")
    page.wait_for_url(re.compile(r".*q=.*"))
    assert page.locator(".od-result").evaluate_all("els => els.map(e => e.dataset.name)") == [name]
    assert_no_violations(page, f"search results ({lang})")
    page.click(f".od-result[data-name={name}] h3 a")
    page.wait_for_url(f"{base}/data/dataset/{name}/")
    assert page.text_content("#dataset-title").strip() == ("Franchised bus stops" if lang == "en" else "專營巴士站位置")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_no_violations(page, f"dataset page ({lang})")
    with page.expect_download() as download:
        page.click(".od-download[data-format=CSV]")
    assert Path(download.value.path()).read_bytes() == CSV
    assert download.value.suggested_filename == "bus-stops.csv"
    ctx.close()
