"""``{% card_option order %}``: "Card / Apple Pay / Google Pay" beside the FPS step of an order's
payment page (the foundation's ``/pay/<order>/`` and the e-services status page), only while a
payment service provider is configured and the order can be paid; with what became of the
payer's last card attempt (``?card=<outcome>`` after the provider's page) or the refusal of
the last try (``card_error`` in the page's context). Context: :func:`tungban.payments.services.pages.card_option`."""

from django import template

from ..services import pages

register = template.Library()


@register.inclusion_tag("payments/_card_option.html", takes_context=True)
def card_option(context, order):
    request = context.get("request")
    outcome = request.GET.get("card", "") if request is not None else ""
    return pages.card_option(order, outcome=outcome, error=context.get("card_error", ""))
