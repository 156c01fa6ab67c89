"""The exchange gateway's protocol names."""

#: OAuth scope of a data user at the Consented Data Exchange Gateway (issue #4): the service's
#: own token, ``client_credentials`` with ``private_key_jwt`` only (RFC 7523).
CDEG_SCOPE = "cdeg"
#: The approval kind of a data-sharing consent in the app; its signed decision binds ``terms``
#: (the SHA-256 of the terms' canonical JSON, lowercase hex).
CONSENT_KIND = "consent"
