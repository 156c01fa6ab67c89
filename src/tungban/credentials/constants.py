"""The e-Licences app's protocol names."""

#: OAuth scope of a department system issuing and revoking its credentials (issue #5); like
#: ``cdeg``, ``client_credentials`` with ``private_key_jwt`` only (RFC 7523).
CREDENTIALS_SCOPE = "credentials"

#: Issuers whose credentials only the platform's own code issues and revokes (never an officer
#: or a department system): ``corpid``, the CorpID platform, issues mandates when their holders
#: accept them and changes their status with the mandate (issue 19).
PLATFORM_ISSUERS = frozenset({"corpid"})
