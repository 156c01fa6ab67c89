"""Issue 15 (third round): UserInfo and form data on a lane of the front
(:func:`tungban.core.front.register_lane`): the common valid bearer request is answered at the
WSGI level, before Django builds a request, with what the full stack answers (status, body,
headers but ``Date``/``Content-Length``) and the same release recorded once; everything else
(every error answer, a suspended resident, a DPoP-bound token or a DPoP proof, a body) goes to
Django untouched, with nothing recorded by the lane."""

from __future__ import annotations

import pytest
from django.core.handlers.wsgi import WSGIHandler

from tungban.core import front
from tungban.oidc.tests.test_userinfo_hot import (
    _fall_through_cases,
    _logged_in,
    _release_fields,
    full_resident,  # noqa: F401 - fixture
    no_hot_route,  # noqa: F401 - fixture
    svc,  # noqa: F401 - fixture
)
from tungban.testing import wsgi
from tungban.wallet.models import ReleaseRecord

pytestmark = pytest.mark.django_db

PATHS = ["/oidc/userinfo", "/oidc/formdata"]


@pytest.fixture(autouse=True)
def keep_connection():
    with wsgi.connection_kept():
        yield


def _environ(path, method="GET", body=b"", **headers):
    content_type = "application/x-www-form-urlencoded" if body else None
    return wsgi.environ(path, method, body=body, content_type=content_type, **headers)


_call, Spy = wsgi.call, wsgi.Spy


def _headers(headers, *fresh):
    """The headers but ``Date`` and ``Content-Length``; only the names of ``fresh`` ones (a new
    value per answer, e.g. ``DPoP-Nonce``)."""
    return sorted(
        (name, "…" if name in fresh else value) for name, value in headers if name not in ("Date", "Content-Length")
    )


def test_userinfo_and_formdata_have_lanes():
    for path in PATHS:
        assert front.lane_registered(path), path


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", PATHS)
def test_the_lane_answers_as_the_full_stack(svc, full_resident, path, method, request):  # noqa: F811
    """The lane's answer equals the full stack's (the hot path behind Django's middleware)
    and the reference view's, header by header, and each records the same release once."""
    _logged_in(svc, full_resident, "tok-lane")
    _logged_in(svc, full_resident, "tok-stack")
    _logged_in(svc, full_resident, "tok-ref")
    spy = Spy()
    lane = _call(front.Front(spy), _environ(path, method, HTTP_AUTHORIZATION="Bearer tok-lane"))
    assert spy.calls == 0  # answered by the lane itself
    stack = _call(spy.django, _environ(path, method, HTTP_AUTHORIZATION="Bearer tok-stack"))
    request.getfixturevalue("no_hot_route")
    reference = _call(WSGIHandler(), _environ(path, method, HTTP_AUTHORIZATION="Bearer tok-ref"))

    assert lane[0] == stack[0] == reference[0] == "200 OK"
    assert lane[2] == stack[2] == reference[2]  # same JSON, same key order, same bytes
    assert _headers(lane[1]) == _headers(stack[1])
    assert dict(lane[1])["Content-Length"] == str(len(lane[2]))
    assert dict(lane[1])["Content-Type"] == dict(reference[1])["Content-Type"] == "application/json"
    assert dict(lane[1])["Access-Control-Allow-Origin"] == dict(reference[1])["Access-Control-Allow-Origin"] == "*"
    records = [_release_fields(r) for r in ReleaseRecord.objects.filter(resident=full_resident).order_by("pk")]
    assert len(records) == 3
    for record in records:
        record.pop("approval_id")  # each token's own login
    assert records[0] == records[1] == records[2]


@pytest.mark.parametrize("path", PATHS)
def test_everything_else_goes_to_django_and_answers_as_the_full_stack(svc, full_resident, officer, path):  # noqa: F811
    """Every error case (a malformed or missing header, an unknown, expired, revoked or
    DPoP-bound token, a DPoP proof, a body, a client's own token, no ``sub`` yet) reaches
    Django, which answers it as without the lane; the lane records nothing of its own."""
    from tungban.testing.factories import make_resident

    cases = _fall_through_cases(svc, full_resident, make_resident(officer))
    for method, headers, form in cases:
        body = b"&".join(f"{k}={v}".encode() for k, v in (form or {}).items())
        spy = Spy()
        before = ReleaseRecord.objects.count()
        lane_calls = []
        original = front._lanes[path]
        front._lanes[path] = front._Lane(
            lambda call, _o=original: lane_calls.append(1) or _o.handler(call), original.methods, original.max_body
        )
        try:
            mine = _call(front.Front(spy), _environ(path, method, body, **headers))
        finally:
            front._lanes[path] = original
        if spy.calls == 0:  # only a valid request (e.g. a profile-only token for form data)
            assert mine[0] == "200 OK", (method, headers)
        written = ReleaseRecord.objects.count() - before
        before = ReleaseRecord.objects.count()
        full = _call(WSGIHandler(), _environ(path, method, body, **headers))
        assert mine[0] == full[0], (method, headers)
        assert written == ReleaseRecord.objects.count() - before, (method, headers)  # none by the lane
        if mine[0].startswith("200"):
            continue  # released (and recorded) by the reference path, each with its own record
        assert mine[2] == full[2], (method, headers)
        assert _headers(mine[1], "DPoP-Nonce") == _headers(full[1], "DPoP-Nonce"), (method, headers)


@pytest.mark.parametrize("path", PATHS)
def test_a_suspended_resident_is_refused_at_once(svc, full_resident, path):  # noqa: F811
    """A suspended resident's token gets the reference path's 403 ``account_suspended`` at
    once, through the lane's front, and nothing is released."""
    _logged_in(svc, full_resident, "tok-suspended")
    full_resident.status = "suspended"
    full_resident.save()
    spy = Spy()
    status, _headers_, body = _call(front.Front(spy), _environ(path, HTTP_AUTHORIZATION="Bearer tok-suspended"))
    assert spy.calls == 1
    assert status.startswith("403") and b"account_suspended" in body
    assert not ReleaseRecord.objects.exists()


def test_the_application_is_the_front_with_the_lanes():
    """``tungban.wsgi.application`` (what a WSGI server calls) is the front that serves them."""
    from tungban.wsgi import application

    assert isinstance(application, front.Front)
