"""Schemas and small conversions the scheme's JSON API shares (issue 20, branch tapi).

Money is HK$ as a decimal string with 2 places (``"320000.00"``), a rate a decimal string
fraction (``"0.700"`` = 70%); dates are ISO 8601, months the first day of the month. Texts of
the scheme's own vocabularies come in both languages (``*_en``/``*_zh``), so an answer does not
vary with ``Accept-Language``; only error messages do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

from django.http import HttpResponseNotModified
from django.utils import translation
from ninja import Field, Schema

from tungban.core.api import conditional

#: Public answers may be kept by caches for a minute (the catalogue's policy, RFC 9111 §5.2.2).
CACHE_CONTROL = "public, max-age=60"


def money(value: Decimal | None) -> str | None:
    """HK$ as a decimal string with 2 places; ``None`` stays ``None``."""
    return None if value is None else f"{Decimal(value):.2f}"


def both(label_of) -> dict:
    """``{"en": …, "zh": …}``: ``label_of()`` evaluated in English and in Traditional Chinese."""
    out = {}
    for key, lang in (("en", "en"), ("zh", "zh-hant")):
        with translation.override(lang):
            out[key] = str(label_of())
    return out


def labelled(code: str, label_of) -> dict:
    """``{"code", "label_en", "label_zh"}`` of a choice."""
    labels = both(label_of)
    return {"code": code, "label_en": labels["en"], "label_zh": labels["zh"]}


def cached(request, response, body) -> HttpResponseNotModified | None:
    """A strong ``ETag`` (RFC 9110 §8.8.3: the SHA-256 of the body's canonical JSON) and
    ``Cache-Control`` on ``response``; ``304 Not Modified`` when ``If-None-Match`` holds the tag
    (RFC 9110 §13.1.2)."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return conditional(request, response, f'"{digest[:32]}"', CACHE_CONTROL)


class LabelOut(Schema):
    code: str
    label_en: str
    label_zh: str


class BatchOut(Schema):
    call: str = Field(description="The call's code")
    number: int
    label: str = Field(description='As the committee names it: "<call code>#<number>"')
    cut_off: dt.datetime = Field(description="Applications submitted by then go to this batch (seed 000 §15)")
    meeting_on: dt.date = Field(description="The committee's meeting planned for the batch")


class ClockOut(Schema):
    started: dt.date = Field(description="Information complete (seed 002 ITIB239: the clock starts there)")
    due: dt.date = Field(description="2 calendar months later")
    days_left: int = Field(description="Negative when late")
    share: str = Field(description="Elapsed ÷ 2 months, a decimal string (0.80 and above: alert)")
    alert: bool
    late: bool
    stopped: bool = Field(description="The secretariat has recommended: the clock no longer runs")


def batch_out(batch) -> dict | None:
    if batch is None:
        return None
    return {
        "call": batch.call.code,
        "number": batch.number,
        "label": f"{batch.call.code}#{batch.number}",
        "cut_off": batch.cut_off,
        "meeting_on": batch.meeting_on,
    }


def clock_out(clock) -> dict | None:
    if clock is None:
        return None
    return {
        "started": clock.started,
        "due": clock.due,
        "days_left": clock.days_left,
        "share": str(clock.share),
        "alert": clock.alert,
        "late": clock.late,
        "stopped": clock.stopped,
    }
