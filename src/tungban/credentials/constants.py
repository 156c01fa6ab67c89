"""The e-Licences app's protocol names."""

#: OAuth scope of a department system issuing and revoking its credentials (issue #5); like
#: ``cdeg``, ``client_credentials`` with ``private_key_jwt`` only (RFC 7523).
CREDENTIALS_SCOPE = "credentials"
