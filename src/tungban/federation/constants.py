"""Constants of cross-boundary login (跨境通辦, issue 23): OpenID Federation 1.0's media types,
entity types and well-known path, the platform's trust-mark type, and statement lifetimes.

Sources: OpenID Federation 1.0 (draft 45, 20 Nov 2025) §3 (entity statements, ``typ``
``entity-statement+jwt``), §5 (entity types), §7 (trust marks, ``trust-mark+jwt``), §8 (federation
endpoints), §9 (``/.well-known/openid-federation``).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

#: §9: where an entity publishes its entity configuration, under its entity identifier.
WELL_KNOWN_PATH = ".well-known/openid-federation"
#: §3, §8.1.2: the JWS ``typ`` and the HTTP content type of entity statements.
ENTITY_STATEMENT_TYP = "entity-statement+jwt"
ENTITY_STATEMENT_MEDIA_TYPE = "application/entity-statement+jwt"
#: §7: trust marks.
TRUST_MARK_TYP = "trust-mark+jwt"
#: §8.4: the resolve endpoint's response.
RESOLVE_RESPONSE_TYP = "resolve-response+jwt"
RESOLVE_RESPONSE_MEDIA_TYPE = "application/resolve-response+jwt"
#: §8.6 (draft 45): the trust mark status endpoint's signed response.
TRUST_MARK_STATUS_TYP = "trust-mark-status-response+jwt"
TRUST_MARK_STATUS_MEDIA_TYPE = "application/trust-mark-status-response+jwt"
#: The one signing algorithm the platform uses and accepts (ES256, RFC 7518 §3.4).
ALGORITHM = "ES256"

#: §5: entity types (metadata keys).
FEDERATION_ENTITY = "federation_entity"
OPENID_PROVIDER = "openid_provider"
OPENID_RELYING_PARTY = "openid_relying_party"
ENTITY_TYPES = (FEDERATION_ENTITY, OPENID_PROVIDER, OPENID_RELYING_PARTY)

#: The trust-mark type (path under the issuing entity's identifier) that a service must hold
#: before a resident's identity crosses the boundary to it: "cross-boundary service (跨境通辦)
#: of department X" (issue 23).
CROSS_BOUNDARY_TRUST_MARK_PATH = "trust-marks/cross-boundary-service"

#: Statement lifetimes in seconds (issue 23: short, so that revocation by the trust anchor takes
#: effect at the next resolution; every cross-boundary login resolves its chain afresh).
#: Settings ``TUNGBAN_FEDERATION_*_LIFETIME`` override them (docs/operations.md).
ENTITY_CONFIGURATION_LIFETIME = 3600
SUBORDINATE_STATEMENT_LIFETIME = 600
TRUST_MARK_LIFETIME = 86400
#: Seconds of clock skew allowed when checking ``iat``/``exp`` (§4.2 leaves it to deployments).
CLOCK_SKEW = 60
#: §6.2: ``max_path_length`` the platform accepts when none is constrained (trust anchor, at most
#: two intermediates, leaf).
MAX_CHAIN_LENGTH = 4


class Role(models.TextChoices):
    """What a hosted entity is in the federation."""

    ANCHOR = "anchor", _("Trust anchor")
    PLATFORM = "platform", _("Platform (OpenID provider and intermediate)")
    INTERMEDIATE = "intermediate", _("Intermediate")
    SERVICE = "service", _("Online service (relying party)")


class KeyUse(models.TextChoices):
    """§1.2: federation entity keys sign entity statements and trust marks; protocol keys (an
    RP's ``jwks`` in its ``openid_relying_party`` metadata) sign request objects and client
    assertions. They are kept apart."""

    FEDERATION = "federation", _("Federation entity key")
    PROTOCOL = "protocol", _("Protocol key")
