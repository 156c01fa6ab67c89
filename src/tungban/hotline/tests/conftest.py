import pytest


@pytest.fixture
def faqs(db):
    """The e-services catalogue (departments, services, forms) and the shipped 1823 FAQ loaded
    and indexed for search."""
    from tungban.credentials import catalogue as credential_catalogue
    from tungban.eservices import services as eservices
    from tungban.hotline.services import faqs as faq_service
    from tungban.payments import services as payments

    credential_catalogue.register_bundled()
    payments.load_fees()
    eservices.load_catalogue()
    faq_service.load()
    return faq_service
