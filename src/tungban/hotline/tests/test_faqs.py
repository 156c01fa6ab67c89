"""The 1823 FAQ files and their loader (issue 22, part sassist): at least 60 bilingual entries,
each answer drawn from the platform's own content (checked here against the e-services
catalogue: a field's help word for word, a service's eligibility, documents, pledge), each with a
source page that exists; loading is all-or-nothing and idempotent, an entry removed from the
files is unpublished and leaves the search index."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import Resolver404, resolve

from tungban.eservices.models import Service
from tungban.hotline.errors import FaqFilesInvalid
from tungban.hotline.models import Faq
from tungban.hotline.services import faqs as faq_service
from tungban.search import services as search
from tungban.search.models import SearchDocument

CATALOGUE = Path(faq_service.__file__).resolve().parents[2] / "eservices" / "catalogue"
CJK = re.compile(r"[\u3400-\u9fff]")


def _entries() -> list[dict]:
    return faq_service.read()


def test_at_least_60_bilingual_entries():
    entries = _entries()
    assert len(entries) >= 60
    for e in entries:
        assert not CJK.search(e["question_en"] + e["answer_en"]), e["slug"]  # English is English
        assert CJK.search(e["question_zh"]) and CJK.search(e["answer_zh"]), e["slug"]  # Chinese is Chinese


def _form_fields(form: str) -> dict:
    versions = sorted((CATALOGUE / "forms" / form).glob("v*.json"))
    layout = json.loads(versions[-1].read_text())["layout"]
    out = {}

    def walk(fields, prefix=""):
        for name, spec in fields.items():
            out[prefix + name] = spec
            if spec.get("kind") == "group":
                walk(spec.get("item", {}), prefix + name + ".")

    walk(layout["fields"])
    return out


def _service_file(slug: str) -> dict:
    (path,) = CATALOGUE.glob(f"services/*/{slug}.toml")
    return tomllib.loads(path.read_text())


def test_answers_are_the_catalogues_own_words():
    """A field's FAQ answer is that field's help; an eligibility FAQ quotes the service's
    eligibility; every service an entry names is in the catalogue, of the entry's department."""
    checked = 0
    for e in _entries():
        if e["service"]:
            service = _service_file(e["service"])
            assert service["department"] == e["department"], e["slug"]
            if e["source_url"].endswith("#eligibility"):
                assert service["eligibility_en"] in e["answer_en"], e["slug"]
                assert service["eligibility_zh"] in e["answer_zh"], e["slug"]
                checked += 1
            if e["source_url"].endswith("#documents"):
                for doc in service.get("documents", []):
                    assert doc["label_zh"] in e["answer_zh"], e["slug"]
                checked += 1
            if e["source_url"].endswith("#pledge"):
                assert str(service["pledge_working_days"]) in e["answer_en"], e["slug"]
                checked += 1
        if e["form"] and e["field"]:
            spec = _form_fields(e["form"])[e["field"]]
            if spec.get("help_en"):
                # the answer states the help (a field FAQ may say more from the same form)
                assert spec["help_en"] in e["answer_en"], e["slug"]
                assert spec["help_zh"] in e["answer_zh"], e["slug"]
                checked += 1
    assert checked >= 20


def test_every_source_page_exists(faqs):
    services = set(Service.objects.values_list("slug", flat=True))
    for e in _entries():
        path = e["source_url"].split("#")[0]
        try:
            match = resolve(path)
        except Resolver404:
            pytest.fail(f"{e['slug']}: {path} is not a page of the platform")
        if "slug" in match.kwargs:
            assert match.kwargs["slug"] in services, e["slug"]


def test_load_publishes_and_indexes(faqs):
    count = Faq.objects.filter(active=True).count()
    assert count == len(_entries())
    doc = SearchDocument.objects.get(kind="faq", ref="scc-photo")
    faq = Faq.objects.get(slug="scc-photo")
    assert doc.text_en == faq.answer_en and doc.url == faq.source_url
    assert faq.department.code == "SWD"
    hits = search.query("長者咭相片", kinds=["faq"], language="zh-hant").hits
    assert "scc-photo" in [h.ref for h in hits[:3]]


def test_loading_again_changes_nothing(faqs):
    before = dict(Faq.objects.values_list("slug", "updated_at"))
    indexed = dict(SearchDocument.objects.filter(kind="faq").values_list("ref", "updated_at"))
    assert faq_service.load() == len(before)
    assert dict(Faq.objects.values_list("slug", "updated_at")) == before
    assert dict(SearchDocument.objects.filter(kind="faq").values_list("ref", "updated_at")) == indexed


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "faqs"
    shutil.copytree(faq_service.DEFAULT_DIR, folder)
    return folder


def test_an_entry_removed_from_the_files_is_unpublished_and_unindexed(faqs, tmp_path):
    folder = _copy(tmp_path)
    text = (folder / "td.toml").read_text()
    kept, removed = text.split('[[faq]]\nslug = "pvrm"')
    (folder / "td.toml").write_text(kept)
    assert faq_service.load(folder) == len(_entries()) - 1
    pvrm = Faq.objects.get(slug="pvrm")
    assert pvrm.active is False  # kept, not deleted
    assert not SearchDocument.objects.filter(kind="faq", ref="pvrm").exists()
    # put back: published again
    faq_service.load()
    assert Faq.objects.get(slug="pvrm").active is True
    assert SearchDocument.objects.filter(kind="faq", ref="pvrm").exists()


def test_a_changed_answer_is_reindexed(faqs, tmp_path):
    folder = _copy(tmp_path)
    path = folder / "swd.toml"
    path.write_text(
        path.read_text().replace('answer_en = "A JPEG or PNG photo', 'answer_en = "A colour JPEG or PNG photo')
    )
    faq_service.load(folder)
    assert SearchDocument.objects.get(kind="faq", ref="scc-photo").text_en.startswith("A colour JPEG")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: t.replace('slug = "scc-how-long"', 'slug = "SCC How Long"'), "slug must be lower-case"),
        (lambda t: t.replace('slug = "scc-how-long"', 'slug = "scc-who-can-apply"'), "slug already used"),
        (lambda t: t.replace('question_zh = "誰可以申請長者咭？"\n', ""), "question_zh is required"),
        (
            lambda t: t.replace(
                'source_url = "/services/senior-citizen-card/#pledge"', 'source_url = "https://evil.example/"'
            ),
            "source_url must be a path",
        ),
        (lambda t: t.replace('department = "SWD"', 'department = "NOPE"', 1), "department NOPE"),
        (lambda t: t + '\n[[faq]]\nslug = "x"\nanswer = 3\n', "unknown keys answer"),
        (lambda t: t + "\n[[faq\n", "swd.toml"),
    ],
)
def test_a_wrong_file_loads_nothing(faqs, tmp_path, change, problem):
    folder = _copy(tmp_path)
    path = folder / "swd.toml"
    path.write_text(change(path.read_text()))
    Faq.objects.filter(slug="scc-photo").update(answer_en="changed in the database")
    with pytest.raises(FaqFilesInvalid) as caught:
        faq_service.load(folder)
    assert caught.value.status == 422
    assert any(problem in p for p in caught.value.details["problems"]), caught.value.details
    assert Faq.objects.get(slug="scc-photo").answer_en == "changed in the database"  # nothing written


def test_command(faqs, tmp_path, capsys):
    call_command("load_faqs")
    assert f"{len(_entries())} FAQ entries published." in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[[faq]]\nslug = "Bad Slug"\n')
    with pytest.raises(CommandError) as caught:
        call_command("load_faqs", str(bad))
    assert "slug must be lower-case" in str(caught.value)


def test_the_search_source_lists_the_published_entries(faqs):
    from tungban.search import sources

    source = sources.sources()["faq"]
    refs = {d.ref for d in source.documents()}
    assert refs == set(Faq.objects.filter(active=True).values_list("slug", flat=True))
    assert search.reindex("faq")["faq"] == len(refs)
