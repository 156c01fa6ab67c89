"""``django.contrib.admin`` whose ``admin.site`` asks for the second factor (issue 13 item 3).

Kept apart from :mod:`.staffauth`: an app config module is imported before the models are.
"""

from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    """``django.contrib.admin`` with :class:`tungban.counter.staffauth.StaffAdminSite` as ``admin.site``."""

    default_site = "tungban.counter.staffauth.StaffAdminSite"
