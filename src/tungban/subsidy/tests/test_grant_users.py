"""The grant's cluster users on /subsidy/grants/<award>/ (issue 20: a signed award's scheduler
account opens with no users, so nobody of the grantee could submit a job). The grantee's
authorised person (a CorpID mandate covering ``sign`` in the scheme's e-service, as for the
agreement: seed 000 §21) names and removes them; the compute app adds them on the scheduler
with a queued task. Bilingual errors, nothing stored on an error."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from tungban.compute import services as compute
from tungban.compute.models import AccountUser, AccountUserState
from tungban.subsidy import views_grants
from tungban.subsidy.services import awards, cluster_users

from .conftest import terms
from .test_pages import _portal

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    from django.test import Client

    c = Client()
    c.cookies["tungban_language"] = "en"
    return c


@pytest.fixture
def signed(application, director, run_tasks, settings):
    """An award signed by the director; its account opened in the compute app (no scheduler:
    ``TUNGBAN_SCHEDULER=none``, so it stays pending with that reason)."""
    settings.TUNGBAN_SCHEDULER = "none"
    award = awards.make_award(application, terms(), decided_at=timezone.now(), actor="chair")
    award = awards.sign_agreement(award, director, application.br_number)
    run_tasks()
    return award


def test_seed000_s21_the_authorised_person_names_and_removes_cluster_users(signed, director, client, run_tasks):
    """seed 000 §21: the grantee (its authorised person) runs the grant; its team's cluster users
    are named on the grant page and added by the compute app's task."""
    url = f"/subsidy/grants/{signed.public_id}/"
    _portal(client, director)
    html = client.get(url).content.decode()
    assert 'id="add-cluster-user"' in html and 'id="no-cluster-users"' in html
    response = client.post(url + "users/", {"user": "chan_tm"}, follow=True)
    html = response.content.decode()
    assert response.status_code == 200 and "chan_tm will be added" in html
    assert list(AccountUser.objects.values_list("account__name", "name", "state")) == [
        (signed.account, "chan_tm", AccountUserState.PENDING)
    ]
    run_tasks()
    html = client.get(url).content.decode()
    assert "<code>chan_tm</code>" in html and "Pending" in html
    client.post(url + "users/remove/", {"user": "chan_tm"})
    run_tasks()
    assert AccountUser.objects.get(name="chan_tm").state == AccountUserState.REMOVED  # never on a scheduler
    assert "<code>chan_tm</code>" not in client.get(url).content.decode()


@pytest.mark.parametrize(
    ("posted", "en", "zh"),
    [
        ("Chan TM", "A cluster user name has 1 to 32", "叢集用戶名稱"),
        ("x" * 40, "A cluster user name has 1 to 32", "叢集用戶名稱"),
        ("", "A cluster user name has 1 to 32", "叢集用戶名稱"),
    ],
)
def test_a_bad_user_name_is_refused_in_both_languages_and_nothing_is_stored(signed, director, client, posted, en, zh):
    url = f"/subsidy/grants/{signed.public_id}/"
    _portal(client, director)
    html = client.post(url + "users/", {"user": posted}, follow=True).content.decode()
    assert en in html
    client.cookies["tungban_language"] = "zh-hant"
    with translation.override("zh-hant"):
        html = client.post(url + "users/", {"user": posted}, follow=True).content.decode()
    assert zh in html
    assert not AccountUser.objects.exists()


def test_the_same_user_twice_and_more_than_the_bound_are_refused(signed, director, client, monkeypatch):
    url = f"/subsidy/grants/{signed.public_id}/"
    _portal(client, director)
    client.post(url + "users/", {"user": "chan_tm"})
    html = client.post(url + "users/", {"user": "chan_tm"}, follow=True).content.decode()
    assert "chan_tm is already a cluster user of this account." in html
    monkeypatch.setattr(compute, "MAX_USERS", 1)
    html = client.post(url + "users/", {"user": "lee_sm"}, follow=True).content.decode()
    assert "An account has at most 1 cluster users" in html
    assert list(AccountUser.objects.values_list("name", flat=True)) == ["chan_tm"]


def test_the_mandate_is_checked_again_a_person_who_may_only_view_cannot_name_users(
    signed, director, client, monkeypatch
):
    """The grant page is for anyone who may ``view`` for the grantee; naming users needs ``sign``,
    checked again on each request (a mandate narrowed or revoked counts at once)."""
    from tungban.corpid import errors as corpid_errors

    real = views_grants.authority

    def view_only(resident, br_number, service, action, **kw):
        if action != "view":
            raise corpid_errors.MandateOutOfScope(what=action)
        return real(resident, br_number, service, action, **kw)

    monkeypatch.setattr(views_grants, "authority", view_only)
    monkeypatch.setattr(cluster_users, "authority", view_only)
    url = f"/subsidy/grants/{signed.public_id}/"
    _portal(client, director)
    html = client.get(url).content.decode()
    assert 'id="cluster-users"' in html and 'id="add-cluster-user"' not in html
    html = client.post(url + "users/", {"user": "chan_tm"}, follow=True).content.decode()
    assert "does not cover this" in html
    assert not AccountUser.objects.exists()


def test_before_the_agreement_no_user_can_be_named(application, director, client):
    award = awards.make_award(application, terms(), decided_at=timezone.now(), actor="chair")
    url = f"/subsidy/grants/{award.public_id}/"
    _portal(client, director)
    html = client.get(url).content.decode()
    assert "Cluster users can be named once the agreement is signed." in html
    html = client.post(url + "users/", {"user": "chan_tm"}, follow=True).content.decode()
    assert "once the agreement is signed and the account requested" in html
    assert not AccountUser.objects.exists()


def test_a_stranger_cannot_name_users(signed, client, officer):
    from tungban.testing.factories import make_resident

    stranger = make_resident(
        officer, hkid="G123456A", family_name_en="WONG", given_name_en="Siu Ling", name_zh="黃小玲"
    )
    _portal(client, stranger)
    assert client.post(f"/subsidy/grants/{signed.public_id}/users/", {"user": "chan_tm"}).status_code == 404
    assert not AccountUser.objects.exists()
