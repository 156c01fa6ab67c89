"""The API shapes of a department's webhook endpoints, shared by every API that offers them (the
e-services' and the payments', :mod:`tungban.notify.webhooks`): one set of schemas, so that the
OpenAPI document has one ``EndpointIn`` / ``EndpointOut`` / ``EndpointCreatedOut``."""

from __future__ import annotations

import datetime as dt
import uuid

from ninja import Field, Schema

from .webhooks import MAX_URL_LENGTH


class EndpointIn(Schema):
    url: str = Field(description="https URL on the public internet", max_length=MAX_URL_LENGTH)
    events: list[str] = Field(
        default_factory=list, description="Event types of this API (listed with the operation); empty: all"
    )


class EndpointOut(Schema):
    id: uuid.UUID
    url: str
    events: list[str]
    created_at: dt.datetime


class EndpointCreatedOut(EndpointOut):
    secret: str = Field(description="The signing secret (hex), shown this once")


def endpoint_out(endpoint) -> dict:
    """An endpoint row as :class:`EndpointOut`."""
    return {"id": endpoint.id, "url": endpoint.url, "events": endpoint.events, "created_at": endpoint.created_at}
