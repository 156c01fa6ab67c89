"""Review of issue 19's joint approval as an attacker (the crev review): one person cannot be
both signatories by passing their mandate on to someone who then approves as the second."""

from __future__ import annotations

import pytest

from tungban.corpid.services import corporate_signing
from tungban.signing import services as signing
from tungban.signing.models import OrganisationSeal, SigningDocument
from tungban.testing.tasks import run_queued_tasks
from tungban.wallet.client import AppError

from .conftest import TAI_MAN_BRN, offer
from .test_corporate_signing import SERVICE, company, documents, mandate_for, service  # noqa: F401  (fixtures)
from .test_mandates import accepted


@pytest.mark.usefixtures("company", "service")
@pytest.mark.parametrize("delegate_signs_first", [False, True])
def test_a_delegate_of_the_first_signatory_is_not_the_second(director, employee, third, app_of, delegate_signs_first):
    mine = mandate_for(employee, director, app_of, joint_approval=True, may_delegate=True)
    passed_on = offer(employee, third, services_=[SERVICE], actions=["view", "sign"], joint_approval=True)
    accepted(third, passed_on, app_of)
    puppet = app_of(third)
    first, first_app, second_app = (third, puppet, mine) if delegate_signs_first else (employee, mine, puppet)
    req = corporate_signing.open_request(first, TAI_MAN_BRN, SERVICE, documents())
    first_app.accept(str(req.approval_id))
    second = corporate_signing.approval_ids(signing.get_request(req.client, req.pk))[1]
    with pytest.raises(AppError) as caught:
        second_app.accept(second)
    assert caught.value.code == "same_signatory"
    run_queued_tasks()
    result = signing.request_result(signing.get_request(req.client, req.pk))
    assert result["status"] == "failed" and result["error"] == "same_signatory", result
    assert not SigningDocument.objects.filter(request=req, result__isnull=False).exists()
    assert OrganisationSeal.objects.count() == 0
