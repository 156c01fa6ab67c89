"""The OpenID Provider's own protocol constants, in one module next to the models (as
authentik's ``providers/oauth2/constants.py``). Other apps' scopes are theirs: they register
them with :mod:`.scopes`.

Sources: OpenID Connect Core 1.0 §5.4 (scopes), §11 (offline access), §2 and §5.1 (claims);
RFC 8176 (``amr`` values).
"""

#: OIDC Core §3.1.2.1: the scope that makes an authorization request a login.
OPENID_SCOPE = "openid"
#: e-ME scopes (claims) a client may ask for; the default of a new client.
EME_SCOPES = ["openid", "profile", "hkid", "address", "billing_address", "phone", "email"]
#: OIDC Core §11: a refresh token (RFC 6749 §6) along with the login, for confidential
#: clients that were granted this scope by an administrator.
OFFLINE_ACCESS_SCOPE = "offline_access"

#: ``acr`` values: tungban (basic) and tungban+ (plus) accounts, and either confirmed with
#: two factors (``mfa`` in ``amr``: the web app's passkey with user verification on top of the
#: device key). What each requires and how they compare: :mod:`.stepup` (issue 16 item 3).
ACR_BASIC = "urn:tungban:acr:basic"
ACR_PLUS = "urn:tungban:acr:plus"
ACR_MFA = "urn:tungban:acr:mfa"
ACR_PLUS_MFA = "urn:tungban:acr:plus:mfa"
#: Every level, weakest first (discovery ``acr_values_supported``).
ACR_VALUES = [ACR_BASIC, ACR_PLUS, ACR_MFA, ACR_PLUS_MFA]
#: ``amr`` values (RFC 8176 §2): device key, passkey user verification, PIN (unused: the CLI app's PIN
#: never reaches the platform), two factors.
AMR_DEVICE_KEY = "swk"
AMR_USER_PRESENCE = "user"
AMR_PIN = "pin"
AMR_MFA = "mfa"

#: Approval kinds the OpenID Provider registers with the wallet: a login (``openid`` in scope)
#: and anonymous form filling (data without a login).
LOGIN_KIND = "login"
FORMFILL_KIND = "formfill"

#: Claims of the ID token and the protocol (OIDC Core §2, §3.1.3.6; RP-Initiated Logout ``sid``).
PROTOCOL_CLAIMS = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash"]
#: Claims released along with an e-ME claim (``name`` → ``family_name`` …; see
#: :func:`tungban.identity.eme.values`).
COMPANION_CLAIMS = ["family_name", "given_name", "phone_number_verified", "email_verified"]

#: Algorithms of ``private_key_jwt`` client assertions (RFC 7523) that work for the client's
#: registered EC or RSA keys (discovery ``token_endpoint_auth_signing_alg_values_supported``):
#: joserfc's recommended ES256 and RS256, and PS256, which the server asks joserfc for
#: explicitly (FAPI 2.0 §5.4.1: PS256 or ES256; FAPI clients may not use RS256).
CLIENT_ASSERTION_SIGNING_ALGS = ["ES256", "PS256", "RS256"]
#: Languages of the login pages a client may ask for with ``ui_locales`` (OIDC Core
#: §3.1.2.1; discovery ``ui_locales_supported``); each maps to one of ``settings.LANGUAGES``.
UI_LOCALES = ["zh-HK", "zh-Hant", "en"]
