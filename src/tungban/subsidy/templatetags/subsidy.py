"""Template filters of the AI Subsidy Scheme's pages."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def hkd(value) -> str:
    """An amount of HK$ with thousands separators and cents, in every language: ``1,234.50``."""
    try:
        return f"{Decimal(value):,.2f}"
    except (InvalidOperation, TypeError, ValueError):
        return ""
