from tungban.hotline.tests.conftest import faqs  # noqa: F401  (the catalogue and the FAQ, indexed)
