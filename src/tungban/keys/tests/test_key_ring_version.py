"""The key ring's version (issue 15): every change to the signing keys gives the published JWKS
a new generation in the same transaction, so every worker's precomputed JWKS is replaced."""

import pytest
from django.db import transaction

from tungban.keys import services as keys
from tungban.keys.models import KeyRingVersion, SigningKey

pytestmark = pytest.mark.django_db


def test_generation_changes_with_every_key_change():
    keys.active_key()
    seen = {keys.version()}
    keys.create_key()
    seen.add(keys.version())
    keys.rotate()
    seen.add(keys.version())
    SigningKey.objects.order_by("created_at").first().delete()
    seen.add(keys.version())
    assert None not in seen and len(seen) == 4


def test_a_rolled_back_change_leaves_the_version():
    keys.active_key()
    before = keys.version()
    with pytest.raises(RuntimeError), transaction.atomic():
        keys.rotate()
        assert keys.version() != before
        raise RuntimeError("abort")
    assert keys.version() == before


def test_a_missing_version_row_is_made_again_and_nothing_is_cached_meanwhile():
    keys.active_key()
    KeyRingVersion.objects.all().delete()
    assert keys.version() is None
    first = keys.published_jwks()
    assert keys.version() is not None
    assert keys.published_jwks() == first


def test_a_new_jwks_is_not_kept_under_a_version_that_changed_while_it_was_built(monkeypatch):
    keys.active_key()
    generation = keys.version()
    real = keys.version
    calls = []

    def racing_version(name=keys.SIGNING_KEYS):
        calls.append(name)
        if len(calls) == 2:  # after the keys were read: another worker rotates
            keys.rotate()
        return real(name)

    keys._published.clear()
    monkeypatch.setattr(keys, "version", racing_version)
    keys.published_jwks()
    assert not any(g == generation for g, _days in keys._published)
