"""The web app's page, modules and service worker: labels from their one source, the module
graph intact, and the service worker's shell naming every module file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.templatetags.static import static
from django.utils import translation

from tungban.identity import eme
from tungban.wallet.services import kind_labels

JS = Path(__file__).resolve().parents[1] / "static" / "wallet" / "js"
IMPORT = re.compile(
    r"""^\s*(?:import|export)\s[^;]*?\bfrom\s+["'](\.{1,2}/[^"']+)["']|^\s*import\s+["'](\.{1,2}/[^"']+)["']""", re.M
)


def _modules() -> set[Path]:
    return {p for p in JS.rglob("*.js")}


def _imports(path: Path) -> set[Path]:
    text = path.read_text(encoding="utf-8")
    return {(path.parent / (a or b)).resolve() for a, b in IMPORT.findall(text)}


def test_every_import_resolves_and_every_module_is_reached_from_main():
    seen, todo = set(), [JS / "main.js"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for target in _imports(path):
            assert target.exists(), f"{path.relative_to(JS)} imports missing {target}"
            todo.append(target)
    assert {p.resolve() for p in _modules()} == seen


@pytest.mark.django_db
def test_service_worker_caches_every_module(client):
    resp = client.get("/app/sw.js")
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("text/javascript")
    assert resp["Service-Worker-Allowed"] == "/app/"
    body = resp.content.decode()
    shell = set(re.findall(r'^\s*"([^"]+)",$', body, re.M))
    wanted = {static(f"wallet/js/{p.relative_to(JS).as_posix()}") for p in _modules()}
    assert wanted <= shell, sorted(wanted - shell)
    assert {"/app/", static("core/vendor/qrcode-generator.js"), static("wallet/app.css")} <= shell


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hant"])
def test_app_page_renders_labels_from_their_one_source(client, language):
    html = client.get("/app/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<script type="module" src="{static("wallet/js/main.js")}"></script>' in html
    assert static("core/vendor/qrcode-generator.js") in html
    with translation.override(language):
        for name, claim in eme.CLAIMS.items():
            assert f'<span data-claim="{name}">{claim.label}</span>' in html
        for kind, label in kind_labels().items():
            assert f'<span data-kind="{kind}">{label}</span>' in html
    assert 'data-k="kind_login"' not in html  # no second copy of a kind's label
    for screen in ("screen-bind", "screen-home", "screen-consents", "screen-credentials", "screen-approve", "result"):
        assert f'id="{screen}"' in html


def test_kind_labels_names_every_kind():
    labels = kind_labels()
    assert {"login", "formfill", "sign", "consent"} <= set(labels)
    assert all(isinstance(v, str) and v for v in labels.values())
