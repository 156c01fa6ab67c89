"""The resident's cases in the app (device calls), issue 22."""

from ninja import Router

router = Router()
