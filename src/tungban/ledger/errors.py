"""The transparency log's error codes, declared once; listed in the OpenAPI document under
the ``transparency log`` tag.

(:mod:`.transparency` raises its own subclasses with the same codes, statuses and
``details``; they are to be switched to these once the ledger split lands.)
"""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import DomainError, NotFound

InvalidHash = DomainError.define("invalid_hash", _("Give a SHA-256 hash: 32 bytes, base64-encoded."))
TreeSizeUnknown = DomainError.define(
    "tree_size_unknown",
    _("The log never had %(size)s leaves: it has %(current)s, and proofs exist for tree sizes 1 to %(current)s."),
)  # details.tree_size: the size now
LeafIndexOutOfRange = DomainError.define(
    "leaf_index_out_of_range",
    _("leaf_index must be from 0 to %(last)s for a tree of %(size)s leaves."),
    field="leaf_index",
)
LeafNotFound = NotFound.define("leaf_not_found", _("No leaf of the log's first %(size)s has this hash."), field="hash")
InvalidRange = DomainError.define("invalid_range", _("first (%(first)s) must not be larger than second (%(second)s)."))
