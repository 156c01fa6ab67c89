"""Issue 16, polish16: texts on the app's screens that were not true or not consistent."""

import pytest

pytestmark = pytest.mark.django_db


def app_page(client, language) -> str:
    return client.get("/app/", HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_personal_code_says_how_often_it_really_changes(client):
    """Item 7: the code is renewed before the verifier's limit (about 40 s, valid at most a
    minute), not "every few seconds"."""
    en, zh = app_page(client, "en"), app_page(client, "zh-hant")
    assert "every few seconds" not in en and "每隔數秒" not in zh
    assert "at most a minute" in en and "最多有效一分鐘" in zh


def _our_msgstrs() -> list[str]:
    """The project's Traditional Chinese translations (obsolete ``#~`` entries left out)."""
    import re
    from pathlib import Path

    import tungban

    po = Path(tungban.__file__).parent / "locale" / "zh_Hant" / "LC_MESSAGES" / "django.po"
    out, current = [], None
    for line in po.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgstr"):
            current = [re.match(r'msgstr(?:\[\d+\])? "(.*)"$', line).group(1)]
            out.append(current)
        elif line.startswith('"') and current is not None:
            current.append(line[1:-1])
        else:
            current = None
    return ["".join(parts) for parts in out]


@pytest.mark.parametrize(
    ("wrong", "right"),
    [("您", "你"), ("身分", "身份"), ("（必須填寫）", "（必填）"), ("(?<!公司|機構|項目)英文名稱", "英文姓名")],
)
def test_chinese_wording_is_consistent(wrong, right):
    """Item 8: one form of each word across the resident's pages (你 as most pages use). A
    person's English name is 英文姓名; a company's, an organisation's or a project's is 公司英文名稱,
    機構英文名稱, 項目英文名稱 (they have no 姓)."""
    import re

    texts = _our_msgstrs()
    assert not [t for t in texts if re.search(wrong, t)]
    assert any(right in t for t in texts)


def test_screen_lock_is_named_one_way():
    import re

    assert not [t for t in _our_msgstrs() if re.search("螢幕鎖(?!定)", t)]


def test_required_is_marked_one_way(client):
    """Item 8: "required" was (必須), 必須, （必須填寫） or (必填); now （必填） or 必填 (a badge)."""
    texts = _our_msgstrs()
    assert not [t for t in texts if t in ("必須", "(必須)", "(必填)")]


def test_notices_write_the_date_as_the_app_does(resident):
    """Item 9: "On 2026-12-05 17:54…" next to the app's "5 Dec 2026, 5:54 pm": one way, in
    Hong Kong time, in the page's language (as Intl.DateTimeFormat en-HK / zh-HK, medium + short)."""
    import datetime as dt

    from django.utils import translation

    from tungban.wallet import services as wallet

    notice = wallet.record_notice(resident, "counter_suspend")
    notice.created_at = dt.datetime(2026, 12, 5, 9, 54, tzinfo=dt.UTC)
    with translation.override("en"):
        assert wallet.notice_text(notice).startswith("On 5 Dec 2026, 5:54 pm ")
    with translation.override("zh-hant"):
        assert "2026年12月5日 下午5:54" in wallet.notice_text(notice)
