"""``{% committee_pages as pages %}``: the pages other apps link from the committees' navigation
(:func:`tungban.committees.subjects.register_page`), as ``[(url, label)]``."""

from django import template
from django.urls import reverse

from .. import subjects

register = template.Library()


@register.simple_tag
def committee_pages() -> list[tuple[str, object]]:
    return [(reverse(name), label) for name, label in subjects.pages()]
