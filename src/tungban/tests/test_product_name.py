"""The product's own names, everywhere a resident or officer reads them (issue 16 item
"The product name"): the platform and app are **tungban 通辦** and the two account tiers are
**tungban** (basic; 通辦) and **tungban+** (plus; 通辦+). Hong Kong's system ("iAM Smart",
"智方便") is named only where a text explains what tungban models: the :data:`ALLOWED`
passages below, none of them on a resident's or officer's page.

The scan reads every file a page, a message or a document is made of: templates, JavaScript,
CSS, Python (strings, docstrings and comments alike), the translation catalogue (msgids and
msgstrs), Markdown, of ``src/tungban``, ``examples``, ``docs`` and ``bench``, the README and the
package description. Tests are left out (they may assert that the old names are gone), and so is
the compiled catalogue (the .po is its source). A second check renders the resident's app and
an officer's page of a tungban+ resident in both languages.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCANNED_DIRS = ("src/tungban", "examples", "docs", "bench")
SCANNED_FILES = ("README.md", "pyproject.toml")
SUFFIXES = {".py", ".html", ".js", ".mjs", ".css", ".json", ".po", ".md", ".txt", ".webmanifest"}
#: Hong Kong's system, in either language (any case: "IAM Smart", "iAM Smart+", "iam smart").
HK_NAME = re.compile(r"iam\s*smart|智方便", re.IGNORECASE)

#: Path (from the repository root) → the only lines that may name Hong Kong's system, each
#: given by a fragment the line contains. Every entry explains what tungban models.
ALLOWED: dict[str, tuple[str, ...]] = {
    # The README's first paragraph: what the project is, and the tiers it models.
    "README.md": (
        "(like Hong Kong's 智方便 iAM Smart) that logs in to online services with OpenID Connect,",
        "tungban+ account (like iAM Smart+ 智方便+, checked in person at a counter)",
    ),
    # The package's one-line description: what the project is.
    "pyproject.toml": ("one digital identity (iAM Smart style)",),
    # The architecture document's introduction: the same, for developers.
    "docs/architecture.md": (
        "tungban models Hong Kong's 智方便 iAM Smart. A **tungban** account (like iAM Smart) is",
        "(like iAM Smart+ 智方便+) was checked in person at a registration counter",
    ),
    # A docstring quoting the seed's words about the personal assistant panel.
    "src/tungban/exchange/cards.py": ("透過「智方便」的「個人助理」版面",),
    # Migrations are the schema's history: the choice labels as they were then (the later
    # migrations ``tier_labels_tungban`` and ``required_acr_labels_tungban`` rename them).
    "src/tungban/identity/migrations/0001_initial.py": ("('basic', 'iAM Smart (basic)')",),
    "src/tungban/oidc/migrations/0013_client_required_acr.py": ("'iAM Smart+ account'",),
}


def _scanned_files():
    for name in SCANNED_FILES:
        yield ROOT / name
    for directory in SCANNED_DIRS:
        for path in sorted((ROOT / directory).rglob("*")):
            if not path.is_file() or path.suffix not in SUFFIXES:
                continue
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or path.name.startswith("test_") or path.name == "conftest.py":
                continue
            if "node_modules" in parts or "__pycache__" in parts:
                continue
            yield path


def _offending_lines() -> list[str]:
    found = []
    for path in _scanned_files():
        relative = path.relative_to(ROOT).as_posix()
        allowed = ALLOWED.get(relative, ())
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if HK_NAME.search(line) and not any(fragment in line for fragment in allowed):
                found.append(f"{relative}:{number}: {line.strip()}")
    return found


def test_hong_kong_system_is_named_only_where_a_text_explains_what_tungban_models():
    offending = _offending_lines()
    assert not offending, "iAM Smart / 智方便 outside the allow-list:\n" + "\n".join(offending)


def test_every_allowed_passage_is_still_there():
    """The allow-list stays exact: a passage that was reworded or removed leaves the list too."""
    for relative, fragments in ALLOWED.items():
        text = (ROOT / relative).read_text(encoding="utf-8")
        for fragment in fragments:
            assert fragment in text, f"{relative}: allowed passage gone: {fragment!r}"


def test_the_scan_sees_the_pages_the_catalogue_and_the_app_strings():
    """The scan covers what residents and officers read (a guard against an empty scan)."""
    scanned = {path.relative_to(ROOT).as_posix() for path in _scanned_files()}
    assert "src/tungban/locale/zh_Hant/LC_MESSAGES/django.po" in scanned
    assert "src/tungban/wallet/templates/wallet/screens/_strings.html" in scanned
    assert "src/tungban/wallet/static/wallet/js/lib/messages.js" in scanned
    assert "src/tungban/signing/pdf.py" in scanned
    assert "examples/vehicle_licence/i18n.py" in scanned


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-HK"])
def test_rendered_pages_use_tungban_names(client, language):
    """The app (its screens and the strings its scripts show, tier names included), the signature
    check and an officer's page of a counter-registered (tungban+) resident, as served."""
    from tungban.testing.factories import login_staff, make_resident, staff_user

    officer = staff_user()
    resident = make_resident(officer)
    app = client.get("/app/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert ("通辦+" if language == "zh-HK" else "tungban+") in app  # the tier name the app shows
    pages = {"/app/": app, "/signing/verify": client.get("/signing/verify", HTTP_ACCEPT_LANGUAGE=language)}
    staff = login_staff(client, officer)
    pages["officer's resident page"] = staff.get(
        f"/staff/residents/{resident.public_id}", HTTP_ACCEPT_LANGUAGE=language
    )
    for name, page in pages.items():
        html = page if isinstance(page, str) else page.content.decode()
        assert not HK_NAME.search(html), f"{name} ({language}) names Hong Kong's system"
    assert ("簽署證書（通辦+）" if language == "zh-HK" else "Signing certificates (tungban+)") in html
