"""The search API (issue 22)."""

from ninja import Router

router = Router()
