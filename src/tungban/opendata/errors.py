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

# The CKAN Action API (part oapi, :mod:`tungban.opendata.api_ckan`): refusals of a call's
# parameters are CKAN validation errors (409, ``__type: Validation Error``).
UnknownAction = DomainError.define("unknown_action", _("Bad request - Action name not known: %(action)s"))
MissingParameter = Conflict.define("missing_parameter", _("Missing value"))
InvalidInteger = Conflict.define("invalid_integer", _("Must be a whole number from %(min)s to %(max)s."))
InvalidJSON = Conflict.define("invalid_json", _("Must be JSON: %(kind)s."))
InvalidBody = Conflict.define("invalid_body", _("The request body must be a JSON object."))
InvalidFq = Conflict.define(
    "invalid_fq",
    _('Cannot read “%(clause)s”: write field:value or field:"value" clauses, field one of %(fields)s.'),
    field="fq",
)
InvalidSort = Conflict.define("invalid_sort", _("Sort by one of %(sorts)s."), field="sort")
InvalidFacetField = Conflict.define("invalid_facet_field", _("Facets are counted on %(fields)s."), field="facet.field")
NotDatastore = NotFound.define(
    "not_datastore", _("Resource “%(id)s” has no DataStore table (it is not a published CSV file).")
)
UnknownDatastoreField = Conflict.define("unknown_datastore_field", _("The table has no field “%(name)s”."))
NoSuchAction = NotFound.define("no_such_action", _("No action is called “%(name)s”."))
InvalidTableSchema = DomainError.define(
    "invalid_table_schema", _("The data dictionary (Table Schema) is not valid: %(problem)s."), field="table_schema"
)
TableSchemaFailure = DomainError.define(
    "table_schema_failure", _("The file does not match its data dictionary: %(problems)s"), field="file"
)
UnknownFileUrl = NotFound.define("unknown_file_url", _("No file of the archive has the address “%(url)s”."))
NoVersionAtTime = NotFound.define("no_version_at_time", _("The archive holds no version of this file at that time."))
#: data.gov.hk's historical archive answers a malformed parameter with 400 “invalid start
#: parameter” (anchor study eservices-payments-opendata-1823 §5.1); ``%(name)s`` is the
#: parameter's name.
InvalidArchiveParameter = DomainError.define("invalid_parameter", _("invalid %(name)s parameter"))
InvalidHarvestSource = DomainError.define(
    "invalid_harvest_source",
    _("Give an http or https address and an interval from %(minimum)s to %(maximum)s minutes."),
    field="url",
)

# The departmental data catalogue (部門數據目錄, seed 002 ITIB156; part ocat).
UnknownEntry = NotFound.define("unknown_catalogue_entry", _("No catalogue entry has this number."))
ScopeRequired = DomainError.define("scope_required", _("Give the scope in English and in Chinese."), field="scope_en")
OwnerRequired = DomainError.define(
    "owner_required", _("Name the division or section that holds the data."), field="owner"
)
AttributesRequired = DomainError.define(
    "attributes_required",
    _("List at least one attribute, one a line: name | type | description in English | description in Chinese."),
    field="attributes",
)
AttributeLine = DomainError.define(
    "attribute_line",
    _(
        "Line %(line)s: write four parts separated by “|”: name | type | description in English | "
        "description in Chinese."
    ),
    field="attributes",
)
AttributeName = DomainError.define(
    "attribute_name",
    _(
        "Line %(line)s: “%(name)s” is not a field name: start with a letter, then letters, digits or “_”, "
        "at most 63 characters."
    ),
    field="attributes",
)
AttributeType = DomainError.define(
    "attribute_type",
    _("Line %(line)s: “%(type)s” is not a field type; use one of: %(types)s."),
    field="attributes",
)
AttributeDescription = DomainError.define(
    "attribute_description",
    _("Line %(line)s: describe the field “%(name)s” in English and in Chinese."),
    field="attributes",
)
AttributeDuplicate = DomainError.define(
    "attribute_duplicate", _("Line %(line)s: the field “%(name)s” is listed twice."), field="attributes"
)
TooManyAttributes = DomainError.define(
    "too_many_attributes", _("List at most %(limit)s attributes."), field="attributes"
)
PersonalDataNotOpened = Conflict.define(
    "personal_data_not_opened",
    _(
        "This data set contains personal data: it is not opened as open data (Personal Data (Privacy) "
        "Ordinance; open data policy §7). Offer it through the consented data exchange instead."
    ),
)
ClassifiedNotOpened = Conflict.define(
    "classified_not_opened",
    _("This data set is classified “%(classification)s”: only unclassified data is opened as open data."),
)
AlreadyOpen = Conflict.define(
    "already_open", _("This data set already has an open dataset (“%(name)s”): its disposition stays.")
)
UnknownProduct = NotFound.define(
    "unknown_data_product",
    _("No data product of the consented data exchange has the id “%(id)s”."),
    field="product_id",
)
ProductOfAnotherProvider = Forbidden.define(
    "product_of_another_provider",
    _("The data product “%(id)s” is provided by another department, not by “%(organization)s”."),
    field="product_id",
)

# Part opages: the data officers' uploads (services/desk.py).
InvalidCsv = DomainError.define(
    "invalid_csv", _("The file is not a CSV file in UTF-8 with a header row: %(detail)s."), field="file"
)

TagTooLong = DomainError.define(
    "tag_too_long", _("A tag has at most 100 characters: “%(tag)s” is longer."), field="tags"
)
