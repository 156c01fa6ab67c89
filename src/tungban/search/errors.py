"""The search app's error codes (issue 22), declared once with ``DomainError.define`` (see ``core/errors.py``)."""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound

#: The longest query accepted, in characters.
MAX_QUERY = 200

QueryEmpty = DomainError.define("query_empty", _("Type what you are looking for."), field="q", status=422)
QueryTooLong = DomainError.define(
    "query_too_long", _("Your search is too long: use at most 200 characters."), field="q", status=422
)
UnknownKind = DomainError.define(
    "unknown_kind", _("There is no such kind of result: %(kind)s."), field="kind", status=422
)
UnknownDepartment = DomainError.define(
    "unknown_department", _("There is no such department: %(department)s."), field="department", status=422
)
BadPage = DomainError.define(
    "page_invalid", _("The page must be a whole number from 1 to 100."), field="page", status=422
)
NotSearchEditor = Forbidden.define("not_search_editor", _("Only search editors may set best bets."))
DocumentUnknown = NotFound.define("document_unknown", _("There is no such search result: %(ref)s."), field="document")
BestBetQueryInvalid = DomainError.define(
    "best_bet_query_invalid", _("Type the search words the best bet answers (1 to 200 characters)."), field="query"
)
BestBetExists = Conflict.define(
    "best_bet_exists", _("This result is already a best bet for that search."), field="document"
)
BestBetUnknown = NotFound.define("best_bet_unknown", _("There is no such best bet."))
PositionInvalid = DomainError.define(
    "position_invalid", _("The position must be a whole number from 1 to 99."), field="position"
)
