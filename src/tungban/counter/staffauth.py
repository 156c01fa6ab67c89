"""How staff are authenticated (issue 13 item 3): a password and a second factor, short sessions.

- :class:`StaffAdminSite` (django-otp's ``OTPAdminSite``) is the Django admin and the staff
  login page (``LOGIN_URL``): it asks for the TOTP code after the password, and lets in only
  users verified by an OTP device.
- :class:`StaffSessionMiddleware` (after django-otp's ``OTPMiddleware``): a logged-in user who
  is not verified by a second factor is treated as anonymous on every page, so the counter's,
  the credential officers' and the admin pages all send them to the login page; a verified
  staff session ends after ``TUNGBAN_STAFF_SESSION_IDLE`` seconds without a request and
  ``TUNGBAN_STAFF_SESSION_MAX_AGE`` seconds after its login.

Repeated failures lock the login (django-axes, database handler: settings ``AXES_*``), and
one address's login attempts are rate-limited (:mod:`tungban.core.ratelimit`).
Residents never have a Django user: their app authenticates with its device key.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.utils.decorators import method_decorator
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from tungban.core import ratelimit

#: Session key: when (Unix seconds) the staff session was verified at login.
LOGIN_AT_KEY = "staff_login_at"


class StaffAuthenticationForm(OTPAdminAuthenticationForm):
    """Username, password and TOTP code on one page. django-otp asks which device the code is
    from; staff have one (their authenticator app), so it is taken when none is chosen."""

    def _chosen_device(self, user):
        device = super()._chosen_device(user)
        if device is None:
            devices = list(devices_for_user(user, confirmed=True, for_verify=True))
            device = devices[0] if len(devices) == 1 else None
        return device


class StaffAdminSite(OTPAdminSite):
    """The Django admin, requiring a verified second factor (django-otp), under the usual
    ``admin`` name so ``admin:…`` URLs keep working. Its login page is the staff login page."""

    login_template = "counter/staff_login.html"
    login_form = StaffAuthenticationForm

    def has_permission(self, request):
        """Administrators only (superusers, verified by their second factor): officers' roles
        (counter, e-licences) give no admin access (issue 13 acceptance 4)."""
        return super().has_permission(request) and request.user.is_superuser

    def __init__(self, name: str = "admin"):
        super().__init__(name)

    @method_decorator(ratelimit.limit("staff_login"))
    def login(self, request, extra_context=None):
        """The staff login page, its POSTs limited per client address (``staff_login`` in
        ``TUNGBAN_RATELIMITS``): django-axes locks one username after repeated failures,
        this stops one address trying a few passwords on many usernames (issue 13 items 3, 8)."""
        return super().login(request, extra_context)


class StaffSessionMiddleware:
    """No staff session without the second factor, and short staff sessions.

    Install after ``django_otp.middleware.OTPMiddleware``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if not user.is_verified():
                # A password alone (or a session from before the second factor) opens nothing.
                request.user = AnonymousUser()
            else:
                now = time.time()
                started = request.session.setdefault(LOGIN_AT_KEY, now)
                if now - started > settings.TUNGBAN_STAFF_SESSION_MAX_AGE:
                    logout(request)
                else:
                    request.session.set_expiry(settings.TUNGBAN_STAFF_SESSION_IDLE)  # sliding idle timeout
        return self.get_response(request)
