"""Fixtures: the bundled issuers and types, and a holder with an app key that can present."""

from __future__ import annotations

import datetime as dt
import secrets
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey
from jwcrypto.jwk import JWK
from sd_jwt.holder import SDJWTHolder


class Holder:
    """A resident with a bound device whose private key we hold (as the app would)."""

    def __init__(self, resident, private_key):
        self.resident = resident
        self.private_key = private_key

    def present(
        self,
        sd_jwt: str,
        disclose: list[str] | None,
        *,
        aud: str | None = None,
        nonce: str | None = None,
        bind: bool = True,
    ) -> str:
        """A presentation disclosing only ``disclose`` (None: every claim), with a KB-JWT."""
        from tungban.credentials import services

        holder = SDJWTHolder(sd_jwt)
        wanted = {name: True for name in (disclose if disclose is not None else services.issued_claims_from(sd_jwt))}
        if bind:
            holder.create_presentation(
                wanted,
                nonce or secrets.token_urlsafe(12),
                aud or services.verifier_audience(),
                JWK.from_pyca(self.private_key),
                "ES256",
            )
        else:
            holder.create_presentation(wanted)
        return holder.sd_jwt_presentation


def make_holder(date_of_birth=dt.date(1950, 3, 2), with_device=True, **overrides) -> Holder:
    from tungban.testing.factories import make_resident
    from tungban.wallet.models import Device

    resident = make_resident(date_of_birth=date_of_birth, **overrides)
    private = ec.generate_private_key(ec.SECP256R1())
    if with_device:
        public = ECKey.import_key(private.public_key())
        Device.objects.create(
            resident=resident,
            platform="cli",
            name="test phone",
            public_jwk=public.as_dict(private=False),
            jwk_thumbprint=public.thumbprint(),
        )
    return Holder(resident, private)


@pytest.fixture
def bundled(db):
    from tungban.credentials import catalogue

    catalogue.register_bundled()


@pytest.fixture
def holder(bundled):
    return make_holder()


@pytest.fixture
def senior_card(holder):
    from tungban.credentials import services

    return services.issue(
        services.get_type("senior-citizen-card"),
        holder.resident,
        {"card_number": "SC12345678"},
        issued_by="officer:test",
    )


@pytest.fixture
def clock():
    return time.time


# --- the CLI app over HTTP (test_app.py, test_cli.py) -------------------------------------


@pytest.fixture
def senior(officer):
    """A resident born 1950-03-02, registered at a counter (no device yet)."""
    from tungban.testing.factories import make_resident

    return make_resident(officer, date_of_birth=dt.date(1950, 3, 2))


@pytest.fixture
def app(issuer, bundled, senior, app_home):
    """The CLI app bound to ``senior`` over HTTP against the platform (in-process by default)."""
    from tungban.testing.factories import bind_cli

    return bind_cli(issuer, senior, app_home)


@pytest.fixture
def card(app, senior):
    """A Senior Citizen Card issued after the app was bound: bound to the app's key."""
    from tungban.credentials import services

    return services.issue(
        services.get_type("senior-citizen-card"), senior, {"card_number": "SC12345678"}, issued_by="officer:test"
    )
