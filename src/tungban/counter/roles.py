"""The counter's staff roles (issue 13 item 1): Django groups holding the counter's permissions.

``Counter officers`` register residents, suspend and reinstate accounts, unbind devices, issue
first activation codes and ask for a re-binding. ``Counter supervisors`` may also approve an
other officer's re-binding of an account that has a bound phone or is tungban+. Officers of
an issuing department (:mod:`tungban.credentials`) are a different role: membership of an
``Issuer``'s officers, not these groups. The groups are created by a migration
(``counter/migrations``); an administrator puts staff users in them.
"""

COUNTER_OFFICERS = "Counter officers"
COUNTER_SUPERVISORS = "Counter supervisors"
#: Permission (``app_label.codename``) to use the counter's pages at ``/staff/``.
USE_COUNTER = "counter.use_counter"
#: Permission to approve a re-binding another officer asked for.
APPROVE_REBIND = "counter.approve_rebind"
#: ``group name → permission codenames`` the migration gives each group.
GROUP_PERMISSIONS = {
    COUNTER_OFFICERS: ["use_counter"],
    COUNTER_SUPERVISORS: ["use_counter", "approve_rebind"],
}


def ensure_groups(**_signal_kwargs) -> None:
    """Create the counter's groups with their permissions if missing (idempotent). Runs after
    every ``migrate`` (``post_migrate``), so a flushed database (e.g. between transactional
    tests) gets them back; the migration ``0002_counter_groups`` creates them first."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from .models import RebindRequest

    ctype = ContentType.objects.get_for_model(RebindRequest)
    names = dict(RebindRequest._meta.permissions)
    for group_name, codenames in GROUP_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=group_name)
        perms = [
            Permission.objects.get_or_create(content_type=ctype, codename=c, defaults={"name": names[c]})[0]
            for c in codenames
        ]
        group.permissions.add(*perms)
