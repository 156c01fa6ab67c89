"""Signing's protocol names, imported by the apps that refer to them (e.g. the setup's demo)."""

#: OAuth scope (RFC 6749 §3.3) a service needs to ask for signatures (issue #3); registered
#: with the OpenID Provider's scope registry in :class:`.apps.SigningConfig`.
SIGNING_SCOPE = "signing"
#: The approval kind of a signing request in the app; its signed decision binds ``documents``
#: (the documents' SHA-256 digests, lowercase hex, in order).
SIGN_KIND = "sign"
