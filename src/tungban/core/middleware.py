"""Request language (issue 13 item 17): pages keep Django's choice (the language cookie,
then ``Accept-Language``, else ``LANGUAGE_CODE``, Traditional Chinese); the JSON API under
:data:`API_PATH_PREFIX` answers machine clients in English unless they ask otherwise.
"""

from __future__ import annotations

from django.conf import settings
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

#: Paths of the platform's JSON API (``tungban.urls``: ``api/v1/``).
API_PATH_PREFIX = "/api/"
#: The API's language when the request names none the platform speaks.
API_DEFAULT_LANGUAGE = "en"


def api_language(request) -> str:
    """The language of an API answer, one of ``settings.LANGUAGES``: the language cookie (a
    browser that chose one on the platform's pages), then the ``Accept-Language`` ranges
    in order of preference (RFC 9110 §12.5.4; ``zh-HK`` → ``zh-hant``), else English —
    never ``LANGUAGE_CODE``, which is for pages."""
    candidates = [request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)]
    candidates += [code for code, _q in parse_accept_lang_header(request.headers.get("Accept-Language", ""))]
    for code in candidates:
        if not code or code == "*":
            continue
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return API_DEFAULT_LANGUAGE


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's ``LocaleMiddleware``, with :func:`api_language` for the JSON API."""

    def process_request(self, request):
        if request.path_info.startswith(API_PATH_PREFIX):
            translation.activate(api_language(request))
            request.LANGUAGE_CODE = translation.get_language()
        else:
            super().process_request(request)
