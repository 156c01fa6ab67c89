"""Issue 13 item 18: pairwise ``sub`` (OIDC Core §8.1) differs between two services on the
same host: each client is its own sector unless an administrator groups clients under one
sector on purpose; clients registered before keep their subjects (data migration)."""

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from tungban.oidc import services
from tungban.oidc.models import Client, PairwiseSubject
from tungban.testing.factories import make_client

pytestmark = pytest.mark.django_db


def test_two_services_on_one_host_get_different_subjects(resident):
    a, _ = make_client("svc-a", "https://gov.example/a/cb")
    b, _ = make_client("svc-b", "https://gov.example/b/cb")
    assert services.pairwise_sub(resident, a) != services.pairwise_sub(resident, b)
    assert services.pairwise_sub(resident, a) == services.pairwise_sub(resident, a)  # stable
    assert services.resident_for_sub(b, services.pairwise_sub(resident, a)) is None


def test_a_clients_subject_survives_a_change_of_redirect_uri(resident):
    a, _ = make_client("svc-a", "https://gov.example/a/cb")
    before = services.pairwise_sub(resident, a)
    a.redirect_uris = ["https://new-host.example/cb"]
    a.save()
    assert services.pairwise_sub(resident, Client.objects.get(pk=a.pk)) == before


def test_an_administrator_can_group_clients_under_one_sector(resident):
    a, _ = make_client("svc-a", "https://gov.example/a/cb")
    b, _ = make_client("svc-b", "https://other.example/cb")
    for client in (a, b):
        client.sector_identifier = "https://dept.example"
        client.full_clean()
        client.save()
    assert services.pairwise_sub(resident, a) == services.pairwise_sub(resident, b)
    assert services.resident_for_sub(b, services.pairwise_sub(resident, a)) == resident


@pytest.mark.parametrize("reserved", ["client:1", "cdeg:5", "Client:1"])
def test_reserved_sectors_cannot_be_chosen(reserved):
    a, _ = make_client("svc-a")
    a.sector_identifier = reserved
    with pytest.raises(ValidationError) as err:
        a.full_clean()
    assert "sector_identifier" in err.value.message_dict


def test_migration_keeps_existing_clients_subjects(resident):
    """Clients registered before keep the host sector they had, so no service sees its
    residents' ``sub`` change; clients nobody has logged in to get their own sector."""
    used, _ = make_client("svc-used", "https://shared.example/a/cb")
    used_too, _ = make_client("svc-used-too", "https://shared.example/b/cb")
    unused, _ = make_client("svc-unused", "https://fresh.example/cb")
    grouped, _ = make_client("svc-grouped", "https://shared.example/c/cb")
    Client.objects.filter(pk=grouped.pk).update(sector_identifier="dept")
    old_sub = PairwiseSubject.objects.create(resident=resident, sector="shared.example", sub="old-sub-value").sub

    import pkgutil

    import tungban.oidc.migrations as package

    [name] = [m.name for m in pkgutil.iter_modules(package.__path__) if m.name.endswith("_pairwise_sector_per_client")]
    migration = importlib.import_module(f"tungban.oidc.migrations.{name}")
    migration.keep_sectors_in_use(apps, None)

    assert Client.objects.get(pk=used.pk).sector_identifier == "shared.example"
    assert Client.objects.get(pk=used_too.pk).sector_identifier == "shared.example"
    assert Client.objects.get(pk=unused.pk).sector_identifier == ""
    assert Client.objects.get(pk=grouped.pk).sector_identifier == "dept"
    assert services.pairwise_sub(resident, Client.objects.get(pk=used.pk)) == old_sub
    assert services.pairwise_sub(resident, Client.objects.get(pk=unused.pk)) != old_sub
