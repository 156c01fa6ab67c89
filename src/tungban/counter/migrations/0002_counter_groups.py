"""The counter's roles as groups (issue 13 item 1): ``Counter officers`` and ``Counter
supervisors`` with their permissions (see :mod:`tungban.counter.roles`)."""

from django.db import migrations

GROUP_PERMISSIONS = {  # a copy of roles.GROUP_PERMISSIONS at the time of this migration
    "Counter officers": ["use_counter"],
    "Counter supervisors": ["use_counter", "approve_rebind"],
}
PERMISSION_NAMES = {
    "use_counter": "Can use the registration counter",
    "approve_rebind": "Can approve re-binding an account (second officer)",
}


def create_groups(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    # Permissions are otherwise created after all migrations (post_migrate): make them now.
    ctype, _ = ContentType.objects.get_or_create(app_label="counter", model="rebindrequest")
    perms = {
        codename: Permission.objects.get_or_create(content_type=ctype, codename=codename, defaults={"name": name})[0]
        for codename, name in PERMISSION_NAMES.items()
    }
    for group_name, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(*(perms[c] for c in codenames))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUP_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("counter", "0001_rebind_requests_and_counter_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
