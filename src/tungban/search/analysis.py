"""The bilingual analyser (issue 22; moved here from the open-data search of issue 21, which
imports it): the same tokens for what is indexed and what is asked.

Chinese. Text is first normalised with OpenCC (Simplified → Traditional ``s2t``, then Hong
Kong variants → OpenCC's standard forms ``hk2t``, so 綫/線 and 裏/裡 match), at index time and
at query time; then each run of Han characters (the URO, Extension A, the compatibility
ideographs and Extensions B–H, where most of the Hong Kong Supplementary Character Set is,
e.g. 𨋢 "lift") becomes its characters and its bigrams, so any two-character word (交通, 護照,
牌照) matches without a dictionary. Character bigrams rather than jieba: jieba's dictionary is
Simplified-Chinese and mainland-centred (it splits Hong Kong place and department names
unpredictably), its segmentation of a query and of a title can disagree, and bigrams need no
model to load; the cost is a larger index, which at catalogue size does not matter.

Latin. Lower-cased words and digits (:func:`tokens`). The one search (:mod:`tungban.search.services`)
also stems English words with the Snowball English stemmer (:func:`stem`; ``renewal`` and
``renew`` both become ``renew``) and maps a few British/American spellings to one form
(:data:`SPELLINGS`); the open-data search keeps unstemmed words with prefix matching (issue 21).
"""

from __future__ import annotations

import functools
import re
import unicodedata

#: Han characters: the URO and Extension A, the compatibility ideographs, and Extensions B–H
#: with their supplement (U+20000–U+323AF: most of the Hong Kong Supplementary Character Set,
#: e.g. 𨋢 "lift", is in Extension B).
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U000323af]+")
WORD = re.compile(r"[a-z0-9]+")

#: English words a resident types that say nothing about what they look for (questions and
#: filler); dropped from a query unless it has nothing else. Short on purpose: "apply",
#: "renew", "form", "pay" are kept, they tell a service from a dataset.
STOPWORDS = frozenset(
    "a an and are as at be by can do does for from get got how i if in is it me my of on or our "
    "please should the their there to want what when where which who why will with you your".split()
)

#: American spellings → the British ones Hong Kong's government uses (after lower-casing,
#: before stemming), so ``license`` finds *licence*.
SPELLINGS = {
    "license": "licence",
    "licenses": "licences",
    "licensed": "licenced",
    "center": "centre",
    "centers": "centres",
    "program": "programme",
    "programs": "programmes",
    "color": "colour",
    "neighbor": "neighbour",
    "neighborhood": "neighbourhood",
    "labor": "labour",
    "id": "identity",
}


@functools.cache
def _converter(config: str):
    import opencc  # Apache-2.0; the official binding (wheels with the dictionaries)

    return opencc.OpenCC(config)


#: Cantonese written forms Hong Kong uses beside the standard character, folded to it for
#: matching only (never shown): 咭 is "card" (長者咭, 八達通咭) as often as 卡. OpenCC's ``hk2t``
#: converts variant glyphs, not these loan characters.
COLLOQUIAL = str.maketrans({"咭": "卡"})


def to_traditional(text: str) -> str:
    """``text`` with Simplified Chinese converted to Traditional (OpenCC ``s2t``), Hong Kong
    variant characters to OpenCC's standard forms (``hk2t``) and the Cantonese forms of
    :data:`COLLOQUIAL` to the standard character; Latin text unchanged."""
    if not text or not CJK.search(text):
        return text
    return _converter("hk2t").convert(_converter("s2t").convert(text)).translate(COLLOQUIAL)


def to_simplified(text: str) -> str:
    """``text`` in Simplified Chinese (OpenCC ``t2s``), for the ``/sc-data/`` API."""
    if not text or not CJK.search(text):
        return text
    return _converter("t2s").convert(text)


def normalise(text: str) -> str:
    """``text`` lower-cased, NFKC-normalised (full-width letters and digits become ASCII),
    Traditional Chinese (:func:`to_traditional`)."""
    return to_traditional(unicodedata.normalize("NFKC", text or "").lower())


def tokens(text: str) -> list[str]:
    """Search tokens of ``text``: lower-cased Latin words and digits; each run of Chinese
    characters (after :func:`to_traditional`) as its characters and its bigrams."""
    text = to_traditional(text.lower())
    out = WORD.findall(text)
    for run in CJK.findall(text):
        out.extend(run)
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


@functools.cache
def _stemmer():
    import snowballstemmer  # BSD-3-Clause; the Snowball project's own Python stemmers

    return snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball English stem of a lower-cased Latin ``word`` after :data:`SPELLINGS`
    (``"renewal"`` → ``"renew"``, ``"license"`` → ``"licenc"``); digits unchanged."""
    word = SPELLINGS.get(word, word)
    if word.isdigit():
        return word
    return _stemmer().stemWord(word)


def latin_words(text: str) -> list[str]:
    """The lower-cased Latin words and numbers of ``text`` (NFKC), unstemmed."""
    return WORD.findall(unicodedata.normalize("NFKC", text or "").lower())


def index_tokens(text: str) -> list[str]:
    """The tokens the one search stores for ``text``: stemmed Latin words (:func:`stem`), and
    each Chinese run's characters and bigrams (:func:`tokens`)."""
    text = normalise(text)
    out = [stem(w) for w in WORD.findall(text)]
    for run in CJK.findall(text):
        out.extend(run)
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def chinese_terms(text: str) -> list[str]:
    """A query's Chinese terms: each run's bigrams, or the single character of a one-character
    run (after :func:`normalise`)."""
    out: list[str] = []
    for run in CJK.findall(normalise(text)):
        if len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out
