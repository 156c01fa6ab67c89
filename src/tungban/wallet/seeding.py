"""Bound devices for synthetic residents (benchmarks and demos, issue #6).

:func:`seed_devices` creates the rows :func:`tungban.wallet.services.complete_binding`
would store for a command-line app — the public P-256 JWK, its RFC 7638 thumbprint, the
platform and a name — in bulk, without the binding round trip, and hands the *private*
keys back so a load generator can sign ``Authorization: Device <JWS>`` proofs and approval
decisions. Benchmark use only: whoever holds the returned keys can act as those residents.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from joserfc.jwk import ECKey

from tungban.identity import services as identity
from tungban.identity.models import AuditEvent, Resident

from . import errors
from .models import Device, Platform
from .services import _import_public_jwk


def seed_devices(
    residents: Iterable[Resident],
    *,
    platform: str = Platform.CLI,
    name: str = "Seeded (benchmark)",
    batch_size: int = 1000,
) -> list[dict]:
    """Bind a new device key to each resident, in one transaction.

    Each resident gets a fresh ECDSA P-256 key; the stored device is active, with
    ``public_jwk`` and ``jwk_thumbprint`` exactly as binding stores them, and a
    ``device_bound`` audit event (``{"seeded": true}``).

    :param platform: ``"cli"`` only: a web device needs a passkey, which cannot be seeded.
    :returns: ``[{"resident": "<public_id>", "device_id": "<uuid>", "private_jwk": {"kty":
        "EC", "crv": "P-256", "x", "y", "d", "kid": "<device_id>"}}]`` in input order.
    :raises DomainError: ``passkey_required`` for another platform; :class:`Forbidden`
        ``account_suspended``; :class:`Conflict` ``already_bound`` when a resident already
        has a bound device (nothing is stored then).
    """
    if platform != Platform.CLI:
        raise errors.PasskeyRequired(field="platform")
    devices, events, out = [], [], []
    for resident in residents:
        identity.require_active(resident)
        private = ECKey.generate_key("P-256", private=True)
        public = _import_public_jwk(private.as_dict(private=False))  # as complete_binding does
        device = Device(
            resident=resident,
            platform=platform,
            name=name[:80],
            public_jwk=public.as_dict(private=False),
            jwk_thumbprint=public.thumbprint(),
        )
        devices.append(device)
        events.append(
            AuditEvent(
                resident=resident,
                action="device_bound",
                detail={"device": str(device.id), "platform": platform, "seeded": True},
            )
        )
        out.append(
            {
                "resident": str(resident.public_id),
                "device_id": str(device.id),
                "private_jwk": {**private.as_dict(private=True), "kid": str(device.id)},
            }
        )
    try:
        with transaction.atomic():
            Device.objects.bulk_create(devices, batch_size=batch_size)
            AuditEvent.objects.bulk_create(events, batch_size=batch_size)
    except IntegrityError:
        raise errors.AlreadyBound() from None
    return out
