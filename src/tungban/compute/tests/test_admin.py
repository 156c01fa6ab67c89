"""The officers' page of compute accounts (Django admin): each account's limits, usage, dates,
state and last error, read-only, in both languages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tungban.compute import services
from tungban.compute.models import Account, AccountState
from tungban.compute.services import JobRecord
from tungban.testing.factories import login_staff, staff_user

pytestmark = pytest.mark.django_db


def test_the_accounts_page_shows_limits_usage_state_and_the_last_error(client):
    today = timezone.localdate()
    services.open_account(
        "aisc-0123456789ab", gpu_minutes=5000, starts_on=today, ends_on=today + dt.timedelta(days=90), owner="award-1"
    )
    Account.objects.filter(name="aisc-0123456789ab").update(
        state=AccountState.FAILED, last_error="sacctmgr: exit 1: Unknown cluster"
    )
    start = timezone.now()
    services.import_usage(
        [JobRecord("tungban", "42", "aisc-0123456789ab", "u1", "COMPLETED", start, start, start, 1800, 4)]
    )  # 4 GPUs × 30 min = 120 GPU-minutes
    login_staff(client, staff_user("admin"))
    client.cookies["tungban_language"] = "en"
    html = client.get("/admin/compute/account/").content.decode()
    for shown in ("aisc-0123456789ab", "award-1", "5000", "120", "Failed", "sacctmgr: exit 1: Unknown cluster"):
        assert shown in html
    client.cookies["tungban_language"] = "zh-hant"
    html = client.get("/admin/compute/account/").content.decode()
    assert "運算帳戶" in html and "已用（GPU 分鐘）" in html
    assert client.get("/admin/compute/account/add/").status_code == 403
