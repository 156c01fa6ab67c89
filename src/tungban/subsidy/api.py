"""The AI Subsidy Scheme's JSON API (issue 20), under ``/api/v1/subsidy/``; each part's router
is added here."""

from ninja import Router

router = Router(tags=["subsidy"])
