"""The signing-key admin lists keys and never creates one (keys come from ``rotate_keys``)."""

import pytest

from tungban.testing.factories import login_staff, staff_user

pytestmark = pytest.mark.django_db


def test_signing_keys_cannot_be_added_in_the_admin(client):
    login_staff(client, staff_user("admin"))
    assert client.get("/admin/keys/signingkey/").status_code == 200
    assert client.get("/admin/keys/signingkey/add/").status_code == 403
    assert client.post("/admin/keys/signingkey/add/", {}).status_code == 403
