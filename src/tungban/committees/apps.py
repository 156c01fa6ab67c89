from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommitteesConfig(AppConfig):
    """Committees that decide on agenda items (issue 20, part E): members and their terms,
    declarations of interest, conflicts detected per item and recusal, scoring per criterion,
    decisions with reasons in both languages and minutes frozen at close. Generic: what an item
    is about (a subsidy application, a reallocation) is a *subject kind* another app registers
    in :mod:`.subjects`. Floor 6: it imports core only."""

    name = "tungban.committees"
    label = "committees"
    verbose_name = _("Committees")
    default_auto_field = "django.db.models.BigAutoField"
