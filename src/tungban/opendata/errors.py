"""The open-data catalogue's error codes (issue 21), declared once. Each is refused before
anything is written, or inside the service's transaction, so nothing partial is stored. The
CKAN Action API gives them in CKAN's envelope (``error.__type``: ``Not Found Error``,
``Validation Error``, ``Authorization Error``) with the code in ``error.code``."""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound

UnknownDataset = NotFound.define("unknown_dataset", _("No dataset is called “%(name)s”."))
UnknownResource = NotFound.define("unknown_resource", _("No resource has the id “%(id)s”."))
UnknownOrganization = NotFound.define("unknown_organization", _("No data provider is called “%(name)s”."))
UnknownGroup = NotFound.define("unknown_group", _("No category is called “%(name)s”."))
UnknownSubmission = NotFound.define("unknown_submission", _("No publication request has this number."))
NotDataOfficer = Forbidden.define("not_data_officer", _("You are not a data officer of “%(organization)s”."))
NotDDO = Forbidden.define("not_ddo", _("Only the Departmental Data Officer of “%(organization)s” may do this."))
OwnSubmission = Forbidden.define(
    "own_submission", _("You submitted this request: another Departmental Data Officer decides on it.")
)
NameTaken = Conflict.define("name_taken", _("A dataset is already called “%(name)s”."), field="name")
InvalidName = DomainError.define(
    "invalid_name",
    _("A name has 2 to 100 characters: lowercase letters a–z, digits, “-” and “_”."),
    field="name",
)
TitleRequired = DomainError.define("title_required", _("Give the title in English and in Chinese."), field="title_en")
InvalidChoice = DomainError.define("invalid_choice", _("“%(value)s” is not a valid %(field_name)s."))
NothingToPublish = Conflict.define(
    "nothing_to_publish", _("Add at least one resource with a file (or an API address) before submitting.")
)
AlreadyPending = Conflict.define(
    "already_pending", _("This dataset already has a publication request waiting for approval.")
)
NotPending = Conflict.define("not_pending", _("This publication request has already been decided."))
ReasonRequired = DomainError.define(
    "reason_required", _("Give the reason in English and in Chinese."), field="reason_en"
)
FileTooLarge = DomainError.define(
    "file_too_large", _("The file is larger than the limit of %(limit)s."), field="file", status=413
)
EmptyFile = DomainError.define("empty_file", _("The file is empty."), field="file")
DatasetWithdrawn = Conflict.define("dataset_withdrawn", _("This dataset has been withdrawn."))
# Part opages: the data officers' uploads (services/desk.py).
InvalidCsv = DomainError.define(
    "invalid_csv", _("The file is not a CSV file in UTF-8 with a header row: %(detail)s."), field="file"
)
InvalidTableSchema = DomainError.define(
    "invalid_table_schema", _("The Table Schema does not fit the file: %(detail)s."), field="schema"
)
