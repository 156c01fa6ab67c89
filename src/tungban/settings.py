"""Django settings for tungban.

Every setting comes from an environment variable with a safe default, so a fresh checkout
runs on SQLite with no configuration, and production (PostgreSQL, several stateless workers
behind a load balancer) only sets variables:

``TUNGBAN_SECRET_KEY``   Django secret key; defaults to the file ``var/secret_key`` that
                         ``tungban setup`` generates (never committed).
``DATABASE_URL``         e.g. ``postgres://user:pw@127.0.0.1:5432/tungban``; default SQLite
                         in ``var/tungban.sqlite3``.
``TUNGBAN_ISSUER``       public base URL of the platform, the OpenID Connect issuer
                         (default ``http://localhost:8000``).
``TUNGBAN_DEBUG``        ``1`` for development error pages (default off).
``TUNGBAN_ALLOWED_HOSTS`` comma-separated host names (default ``localhost,127.0.0.1``).
``TUNGBAN_VAR_DIR``      where generated state lives (default ``var/`` in the checkout; 0700,
                         its files 0600).
``TUNGBAN_UMASK``        octal umask of the platform's processes (default ``077``: owner only).
``TUNGBAN_FIELD_ENCRYPTION_KEYS``, ``TUNGBAN_LOOKUP_HASH_KEY``  keys for personal data at
                         rest (default: files in ``var/`` generated on first use).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import time
from pathlib import Path

from django.utils.csp import CSP

from tungban.core.db import database_settings

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("TUNGBAN_VAR_DIR", BASE_DIR.parent.parent / "var")).resolve()


# Generated state (database, keys, secrets, personal data) is for this service's user only:
# files are created 0600 and directories 0700 (issue 13 item 10). The umask covers what any
# process of the platform creates (SQLite and its WAL, SoftHSM2 tokens, demo credentials);
# existing files are tightened by `tungban setup` and the database file on each connection.
os.umask(int(os.environ.get("TUNGBAN_UMASK", "077"), 8))


def _private_var_dir() -> None:
    VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    if VAR_DIR.stat().st_mode & 0o077 and VAR_DIR.stat().st_uid == os.geteuid():
        VAR_DIR.chmod(0o700)


def _generated(name: str, env: str, make) -> str:
    """The secret in the environment variable ``env``, else in the file ``var/<name>``,
    generated there with ``make()`` on first use (never committed: var/ is git-ignored)."""
    value = os.environ.get(env)
    if value:
        return value
    path = VAR_DIR / name
    if path.exists():
        return path.read_text().strip()
    # Created exclusively, so processes starting together (test workers, web workers) share one key.
    _private_var_dir()
    key = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        while not (existing := path.read_text().strip()):  # the other process is writing it
            time.sleep(0.01)
        return existing
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    return _generated("secret_key", "TUNGBAN_SECRET_KEY", lambda: secrets.token_urlsafe(50))


_private_var_dir()
SECRET_KEY = _secret_key()
#: Keys that encrypt personal data at rest (tungban.core.fields, AES-256-GCM: HKID numbers,
#: e-ME contact data), comma-separated, each 32 random bytes in base64url: the first
#: encrypts, all decrypt. Rotate by putting a
#: new key first, running `tungban reencrypt_fields`, then dropping the old one. Default:
#: the file var/field_encryption_key, generated at set-up like the secret key.
TUNGBAN_FIELD_ENCRYPTION_KEYS = [
    k.strip()
    for k in _generated(
        "field_encryption_key",
        "TUNGBAN_FIELD_ENCRYPTION_KEYS",
        lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),  # an AES-256 key
    ).split(",")
    if k.strip()
]
#: Key of the keyed hashes (HMAC-SHA256) that find residents by HKID number without storing
#: it in clear. Changing it needs every stored hash recomputed. Default: var/lookup_hash_key.
TUNGBAN_LOOKUP_HASH_KEY = _generated("lookup_hash_key", "TUNGBAN_LOOKUP_HASH_KEY", lambda: secrets.token_urlsafe(32))
DEBUG = _flag("TUNGBAN_DEBUG")
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("TUNGBAN_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",") if h.strip()
]
TUNGBAN_ISSUER = os.environ.get("TUNGBAN_ISSUER", "http://localhost:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [TUNGBAN_ISSUER]

INSTALLED_APPS = [
    "tungban.counter.admin_apps.StaffAdminConfig",  # django.contrib.admin, its site asking for the second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # the API docs from our static files (its CDN page has an inline script the CSP refuses)
    "tungban.core",
    "tungban.keys",
    "tungban.identity",
    "tungban.wallet",
    "tungban.oidc",
    "tungban.signing",
    "tungban.ledger",
    "tungban.exchange",
    "tungban.credentials",
    "tungban.miniapps",
    "tungban.notify",
    "tungban.payments",
    "tungban.corpid",
    "tungban.committees",
    "tungban.counter",
    "tungban.eservices",
    "tungban.compute",
    "tungban.opendata",
    "tungban.search",
    "tungban.federation",
    "tungban.subsidy",
    "tungban.hotline",
    "tungban.assistant",
    "tungban.setup",
    "django_tasks_db",
    # Staff second factor (TOTP) and login lockout (issue 13 item 3).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
]

MIDDLEWARE = [
    "tungban.core.health.ProbeMiddleware",  # /healthz, /readyz for load balancers: before host checks
    "tungban.core.middleware.ReceivedAtMiddleware",  # when the request arrived (issue 14 item 7)
    "tungban.core.middleware.SharedCacheMiddleware",  # no Vary on the same-for-everyone files (issue 21)
    "django.middleware.security.SecurityMiddleware",
    "tungban.core.hotpaths.HotPathMiddleware",  # login's API calls skip the page middleware (issue 15)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "tungban.core.middleware.LocaleMiddleware",  # pages as Django; the API defaults to English
    "tungban.core.middleware.RequestSizeLimitMiddleware",  # before anything reads the body
    "tungban.core.faults.FaultMiddleware",  # database faults: retryable 503; JSON 500 under /api/
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    # Staff (issue 13 item 3): the second factor, short sessions, then the login lockout (last).
    "django_otp.middleware.OTPMiddleware",
    "tungban.counter.staffauth.StaffSessionMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tungban.urls"
WSGI_APPLICATION = "tungban.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Before the apps' templates: admin/base_site.html adds the admin's WCAG 2.2 styles.
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database connections (issue 14 item 8; tungban.core.db): persistent for
# TUNGBAN_DB_CONN_MAX_AGE seconds and health-checked before reuse (CONN_HEALTH_CHECKS: after a
# PostgreSQL restart the next request reconnects instead of failing). On PostgreSQL every
# session is bounded: a web request waits at most TUNGBAN_DB_LOCK_TIMEOUT_MS for a lock and
# runs a statement at most TUNGBAN_DB_STATEMENT_TIMEOUT_MS (milliseconds, 0: no bound), then
# gets a retryable 503 (tungban.core.faults). Migrations, `tungban setup`, `seed_residents`,
# `reencrypt_fields` and `tungban worker` lift both for their sessions (tungban.core.db.unbounded).
#: Milliseconds a statement may wait for a lock (PostgreSQL ``lock_timeout``).
TUNGBAN_DB_LOCK_TIMEOUT_MS = int(os.environ.get("TUNGBAN_DB_LOCK_TIMEOUT_MS", "5000"))
#: Milliseconds a statement may run (PostgreSQL ``statement_timeout``).
TUNGBAN_DB_STATEMENT_TIMEOUT_MS = int(os.environ.get("TUNGBAN_DB_STATEMENT_TIMEOUT_MS", "30000"))
#: Seconds to wait for a new PostgreSQL connection (libpq ``connect_timeout``).
TUNGBAN_DB_CONNECT_TIMEOUT = int(os.environ.get("TUNGBAN_DB_CONNECT_TIMEOUT", "5"))
#: Seconds a client is told to wait (``Retry-After``) when the database is unavailable (503).
TUNGBAN_UNAVAILABLE_RETRY_AFTER = int(os.environ.get("TUNGBAN_UNAVAILABLE_RETRY_AFTER", "5"))
#: Milliseconds the readiness probe (``/readyz``) gives the database to answer ``SELECT 1``.
TUNGBAN_READINESS_TIMEOUT_MS = int(os.environ.get("TUNGBAN_READINESS_TIMEOUT_MS", "2000"))
# PostgreSQL connections (issue 15 item 1, figures in docs/operations.md and bench/README.md):
# persistent connections (TUNGBAN_DB_CONN_MAX_AGE) with server-side binding and psycopg's
# prepared statements, the cheapest measured; TUNGBAN_DB_POOL=1 gives each worker process a
# pool (psycopg_pool, Django's OPTIONS["pool"]); TUNGBAN_DB_PREPARE_THRESHOLD=off (needed
# behind a transaction-mode pooler that does not track prepared statements) to client-side
# binding without prepared statements.
#: Seconds a persistent PostgreSQL connection may sit idle and still be used without a health
#: check (``SELECT 1``) at the start of a request; one whose server went away (restart,
#: termination) is checked whatever its idle time (tungban.core.db.health_check_needless).
TUNGBAN_DB_HEALTH_CHECK_IDLE = float(os.environ.get("TUNGBAN_DB_HEALTH_CHECK_IDLE", "30"))
#: Whether each worker process keeps a PostgreSQL connection pool.
TUNGBAN_DB_POOL = _flag("TUNGBAN_DB_POOL", False)
#: The pool's bounds per worker process (connections) and the seconds a request waits for one.
TUNGBAN_DB_POOL_MIN_SIZE = int(os.environ.get("TUNGBAN_DB_POOL_MIN_SIZE", "2"))
TUNGBAN_DB_POOL_MAX_SIZE = int(os.environ.get("TUNGBAN_DB_POOL_MAX_SIZE", "16"))
TUNGBAN_DB_POOL_TIMEOUT = float(os.environ.get("TUNGBAN_DB_POOL_TIMEOUT", "10"))
#: Whether the pool checks a connection (an empty query) each time it lends it.
TUNGBAN_DB_POOL_CHECK = _flag("TUNGBAN_DB_POOL_CHECK", True)
#: Executions of a query on a connection before psycopg prepares it (``off``: never).
TUNGBAN_DB_PREPARE_THRESHOLD = os.environ.get("TUNGBAN_DB_PREPARE_THRESHOLD", "5").strip().lower()
DATABASES = {
    "default": database_settings(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tungban.sqlite3'}"),
        conn_max_age=int(os.environ.get("TUNGBAN_DB_CONN_MAX_AGE", "60")),
        lock_timeout_ms=TUNGBAN_DB_LOCK_TIMEOUT_MS,
        statement_timeout_ms=TUNGBAN_DB_STATEMENT_TIMEOUT_MS,
        connect_timeout=TUNGBAN_DB_CONNECT_TIMEOUT,
        pool=(
            {
                "min_size": TUNGBAN_DB_POOL_MIN_SIZE,
                "max_size": TUNGBAN_DB_POOL_MAX_SIZE,
                "timeout": TUNGBAN_DB_POOL_TIMEOUT,
                **({} if TUNGBAN_DB_POOL_CHECK else {"check": None}),
            }
            if TUNGBAN_DB_POOL
            else None
        ),
        prepare_threshold=None if TUNGBAN_DB_PREPARE_THRESHOLD in ("", "off") else int(TUNGBAN_DB_PREPARE_THRESHOLD),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web server and the CLI read and write the same file at once.
    DATABASES["default"]["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests use a file, not memory: a `tungban worker` subprocess must see the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-tungban.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hant"
LANGUAGES = [("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Hong_Kong"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(mode=0o700, parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_NAME = "tungban_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = TUNGBAN_ISSUER.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_NAME = "tungban_language"
LOGIN_URL = "/admin/login/"

# --- Staff login (issue 13 item 3) ------------------------------------------------------------
# Staff log in at LOGIN_URL with a password and a TOTP code (django-otp; an administrator adds
# the user's TOTP device in the admin). A session without the second factor is no staff session
# (tungban.counter.staffauth). Failed logins are counted in the database by django-axes, so all
# workers agree; after TUNGBAN_STAFF_LOGIN_FAILURES failures for a username the login is
# locked for TUNGBAN_STAFF_LOCKOUT_MINUTES. Residents never log in here.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("TUNGBAN_STAFF_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("TUNGBAN_STAFF_LOCKOUT_MINUTES", "15")))
# By username: behind a load balancer every login may come from one address, and locking that
# would lock every officer out.
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes.W006 warns that locking by user agent or cookie can be bypassed; the lock is by username
# only, which rotating those does not change.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "counter/lockout.html"
AXES_VERBOSE = False
OTP_TOTP_ISSUER = os.environ.get("TUNGBAN_OTP_ISSUER", "tungban 通辦")
#: Seconds a staff session lasts without a request (idle timeout); residents' sessions unchanged.
TUNGBAN_STAFF_SESSION_IDLE = int(os.environ.get("TUNGBAN_STAFF_SESSION_IDLE", str(30 * 60)))
#: Seconds a staff session lasts at most from its login, however active.
TUNGBAN_STAFF_SESSION_MAX_AGE = int(os.environ.get("TUNGBAN_STAFF_SESSION_MAX_AGE", str(8 * 3600)))
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (Django >= 6.0): scripts and styles from this origin's static files only,
# no inline script, style attribute or <style> (a test keeps the templates so). Images: ours, the
# QR codes drawn as data: URLs, and a service's logo (https). Checked in Chromium by the e2e tests.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "https:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# Permissions-Policy (django-permissions-policy): powerful features the platform never uses are
# denied; passkeys (the app) stay on our own origin; 認證易 (/verify/) allows the camera for its
# QR scanner (credentials.pages.verify_page overrides "camera" with "self").
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer ambient-light-sensor autoplay bluetooth browsing-topics camera display-capture encrypted-media "
        "geolocation gyroscope hid idle-detection interest-cohort magnetometer microphone midi payment serial usb"
    ).split()
} | {"publickey-credentials-create": "self", "publickey-credentials-get": "self"}
# HTTPS: HSTS (RFC 6797) when the issuer is https; Django sends it only on secure requests, so
# behind a TLS-terminating proxy name the header it sets, e.g.
# TUNGBAN_PROXY_SSL_HEADER="X-Forwarded-Proto: https" (only if the proxy always sets or strips it).
SECURE_HSTS_SECONDS = int(os.environ.get("TUNGBAN_HSTS_SECONDS", "31536000")) if SESSION_COOKIE_SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("TUNGBAN_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = _flag("TUNGBAN_HSTS_PRELOAD")
SECURE_SSL_REDIRECT = _flag("TUNGBAN_SSL_REDIRECT")
_proxy_name, _, _proxy_value = os.environ.get("TUNGBAN_PROXY_SSL_HEADER", "").partition(":")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_name.strip().upper().replace("-", "_"), _proxy_value.strip()) if _proxy_value.strip() else None
)

# No process-local state: nothing is cached in memory that two workers could disagree on.
# The one real cache holds the rate limiter's counters, in the platform's own database (the
# table is created after every `migrate`), so all workers on all hosts count together.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    "ratelimit": {
        # A DatabaseCache whose counters are changed by one atomic upsert (issue 15); rows of
        # ended windows are deleted by the scheduled purge (tungban.core.retention), and by
        # Django's culling (past MAX_ENTRIES) only when something else than a counter is stored.
        "BACKEND": "tungban.core.ratelimit.CounterCache",
        "LOCATION": "tungban_ratelimit",
        "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("TUNGBAN_RATELIMIT_MAX_ENTRIES", "200000"))},
    },
}

# --- Rate limits (tungban.core.ratelimit; django-ratelimit, issue 13 items 2, 8, 12) ---------
RATELIMIT_USE_CACHE = "ratelimit"
#: On PostgreSQL the counters' table is UNLOGGED (issue 15, pgdiet): a counted attempt commits
#: without waiting for a WAL flush; after a crash of the database server the counters start
#: again from zero. ``0`` keeps it logged (applied by ``migrate``).
TUNGBAN_RATELIMIT_UNLOGGED = _flag("TUNGBAN_RATELIMIT_UNLOGGED", True)
# Counters are stored as decimal text since issue 15 (pickled before): a new key prefix, so a
# counter written by an older release is never incremented in SQL (its window simply ends).
RATELIMIT_CACHE_PREFIX = "rl:n:"
#: ``0`` turns every rate limit off (never in production).
RATELIMIT_ENABLE = _flag("TUNGBAN_RATELIMIT_ENABLE", True)
#: Behind a reverse proxy: the request META key holding the client's address (e.g.
#: ``HTTP_X_REAL_IP``, set by the proxy only). Default: ``REMOTE_ADDR``.
RATELIMIT_IP_META_KEY = os.environ.get("TUNGBAN_CLIENT_IP_META_KEY") or None
#: ``<count>/<period>`` (``s``, ``m``, ``h``, ``d``, e.g. ``30/15m``) per group; each can be
#: set with ``TUNGBAN_RATELIMIT_<GROUP>`` (e.g. ``TUNGBAN_RATELIMIT_PROOFING_HKID=5/d``).
TUNGBAN_RATELIMITS = {
    group: os.environ.get(f"TUNGBAN_RATELIMIT_{group.upper()}", default)
    for group, default in {
        # Self-registration (identity proofing against the register), per client and per HKID.
        "proofing": "20/h",
        "proofing_hkid": "10/d",
        # Binding with an activation code, per client, per HKID from one client, and per HKID
        # from anywhere (a slow ceiling that delays, never voids, the resident's code).
        "binding": "30/h",
        "binding_hkid_client": "5/h",
        "binding_hkid": "50/d",
        # OpenID Connect token endpoint, per client address.
        "token": "300/m",
        # Public verification of signatures and credentials (CPU-heavy), per client.
        "verify": "60/m",
        # Pages of a PDF to sign rendered for the app, per device (poppler in the verify pool; issue 16 M6).
        "signing_pages": "120/h",
        # Staff login attempts per client address (password spraying over many usernames;
        # django-axes locks a single username after AXES_FAILURE_LIMIT failures).
        "staff_login": "30/15m",
        # Notification API requests per API key (GOV.UK Notify: 3,000 a minute per key; issue 16).
        "notify_key": "3000/m",
        # The payments API, per department system (GOV.UK Pay: 15 requests a second per key; issue 18).
        "payments_client": "15/s",
        # The payment kiosk (no login: bill references typed), its status poll, and receipt links.
        "payments_kiosk": "60/m",
        "payments_kiosk_status": "600/m",
        "payments_receipt": "60/m",
        # Card payments started (each opens a session at the provider), per client and per order.
        "payments_card_start": "30/h",
        "payments_card_order": "10/h",
        # The e-form assistant (issue 22): questions per client address, and per conversation.
        "assistant": "60/10m",
        "assistant_conversation": "30/10m",
        # 1823 (issue 22): case forms sent (every POST, corrections included) and tracking
        # look-ups, per client address — anonymous cases carry files, codes are guessed here.
        "hotline_submit": "30/10m",
        "hotline_track": "30/10m",
        # OpenID Federation (issue 23 review): requests that start a trust chain resolution
        # (each up to TUNGBAN_FEDERATION_MAX_FETCHES fetches), per client address —
        # GET /federation/resolve, and an authorization or PAR request whose client_id is a URL.
        "federation_resolve": "60/10m",
    }.items()
}

# --- Domain settings -------------------------------------------------------------------
#: Seconds an approval request (login, form filling, binding) stays open (issue #2: 2 min).
TUNGBAN_APPROVAL_TTL = int(os.environ.get("TUNGBAN_APPROVAL_TTL", "120"))
#: Seconds from its creation beyond which a sign-in page's "More time" no longer extends its
#: approval request (issue 16, WCAG 2.2.1 Timing Adjustable): each extension gives a fresh
#: ``TUNGBAN_APPROVAL_TTL``, never past this cap (default 10 minutes).
TUNGBAN_APPROVAL_MAX_LIFETIME = int(os.environ.get("TUNGBAN_APPROVAL_MAX_LIFETIME", "600"))
#: Seconds an activation code from a counter registration stays valid.
TUNGBAN_ACTIVATION_TTL = int(os.environ.get("TUNGBAN_ACTIVATION_TTL", str(7 * 24 * 3600)))
#: Seconds a counter's re-binding request waits for a supervisor's approval, and an approved
#: one for its requesting officer to issue the code, before it expires (issue 13 item 1).
TUNGBAN_REBIND_REQUEST_TTL = int(os.environ.get("TUNGBAN_REBIND_REQUEST_TTL", str(30 * 60)))
#: Seconds an authorization code stays valid (RFC 6749 §4.1.2 recommends at most 10 min).
TUNGBAN_CODE_TTL = int(os.environ.get("TUNGBAN_CODE_TTL", "60"))
#: Seconds an access token stays valid.
TUNGBAN_ACCESS_TOKEN_TTL = int(os.environ.get("TUNGBAN_ACCESS_TOKEN_TTL", "600"))
#: Seconds a refresh token (``offline_access``) stays usable, counted from the login's code
#: exchange; rotation does not extend it.
TUNGBAN_REFRESH_TOKEN_TTL = int(os.environ.get("TUNGBAN_REFRESH_TOKEN_TTL", str(30 * 24 * 3600)))
#: Seconds after a refresh token's rotation in which the client may retry the same refresh
#: (its answer was lost) and get an equivalent new pair (FAPI 2.0 §5.3.2.1 item 5; issue 14
#: item 6: every client, not only DPoP-bound tokens).
TUNGBAN_REFRESH_GRACE = int(os.environ.get("TUNGBAN_REFRESH_GRACE", "30"))
#: Seconds a device's clock may be off, either way: a device request proof's ``iat`` is
#: accepted from ``now - PROOF_LIFETIME - skew`` to ``now + skew``, and its ``jti`` is kept
#: until the proof could no longer be accepted (issue 14 item 9; docs/operations.md).
TUNGBAN_CLOCK_SKEW = max(0, int(os.environ.get("TUNGBAN_CLOCK_SKEW", "300")))
#: Days a retired ID-token signing key stays in the JWKS after rotation.
TUNGBAN_KEY_RETIREMENT_DAYS = int(os.environ.get("TUNGBAN_KEY_RETIREMENT_DAYS", "7"))
#: On PostgreSQL, each worker process keeps one LISTEN connection that receives key-ring
#: versions as they commit, so the JWKS costs no query per request (issue 15;
#: tungban.keys.listener). Off: every JWKS request reads the version. Off in the test settings,
#: and by default with TUNGBAN_DB_PREPARE_THRESHOLD=off (the setting for a transaction-mode
#: pooler, which accepts LISTEN but never delivers a NOTIFY: review of issue 15, F1).
TUNGBAN_KEYS_LISTEN = _flag("TUNGBAN_KEYS_LISTEN", default=TUNGBAN_DB_PREPARE_THRESHOLD not in ("", "off"))
#: Seconds a key reserved in the PKCS#11 token may stay unused (``pending``) before the sweep
#: (``tungban sweep_keys``, the scheduled purge) destroys it; making a key takes milliseconds
#: (issue 14 item 3).
TUNGBAN_KEY_SWEEP_GRACE = int(os.environ.get("TUNGBAN_KEY_SWEEP_GRACE", "3600"))
#: WebAuthn relying-party id: the host of the issuer URL.
TUNGBAN_WEBAUTHN_RP_ID = os.environ.get(
    "TUNGBAN_WEBAUTHN_RP_ID", TUNGBAN_ISSUER.split("://", 1)[1].split(":")[0].split("/")[0]
)
#: The identity-proofing step for self-registration (dotted path to a callable).
TUNGBAN_IDENTITY_PROOFER = os.environ.get(
    "TUNGBAN_IDENTITY_PROOFER", "tungban.identity.proofing.PopulationRegisterProofer"
)

# --- Digital signing (issue #3) -------------------------------------------------------------
#: Where residents' signing keys live: ``pkcs11`` (an HSM; SoftHSM2 by default), ``software``
#: (keys encrypted at rest in the database, a logged fallback) or ``auto`` (PKCS#11 when a
#: module is available, else software).
TUNGBAN_KEYSTORE = os.environ.get("TUNGBAN_KEYSTORE", "auto")
#: The PKCS#11 module (a real HSM's library replaces SoftHSM2 here).
TUNGBAN_PKCS11_MODULE = os.environ.get("TUNGBAN_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
TUNGBAN_PKCS11_TOKEN = os.environ.get("TUNGBAN_PKCS11_TOKEN", "tungban")
#: The token's user PIN; default: the file ``var/pkcs11-token`` written when the SoftHSM2 token is set up.
TUNGBAN_PKCS11_PIN = os.environ.get("TUNGBAN_PKCS11_PIN", "")
_SOFTHSM2_DERIVED = "TUNGBAN_SOFTHSM2_CONF_DERIVED"
if TUNGBAN_PKCS11_MODULE.endswith("libsofthsm2.so") and (
    "SOFTHSM2_CONF" not in os.environ or os.environ["SOFTHSM2_CONF"] == os.environ.get(_SOFTHSM2_DERIVED)
):
    # SoftHSM2 keeps its token files under var/ (never committed), shared by all local workers.
    # The library reads SOFTHSM2_CONF from the environment, so children inherit it: a value
    # derived here (marked so) is derived again by a child with another TUNGBAN_VAR_DIR, which
    # would otherwise write its configuration into this var/ (issue 16, ci16 item 2); a
    # SOFTHSM2_CONF that the operator set is kept.
    os.environ["SOFTHSM2_CONF"] = os.environ[_SOFTHSM2_DERIVED] = str(VAR_DIR / "softhsm2.conf")
#: A TrueType/OpenType font with Chinese and Latin glyphs for the visible signature stamp.
TUNGBAN_STAMP_FONT = os.environ.get("TUNGBAN_STAMP_FONT", "")
#: Most documents in one (bulk) signing request (issue #3: 50).
TUNGBAN_SIGNING_MAX_DOCUMENTS = int(os.environ.get("TUNGBAN_SIGNING_MAX_DOCUMENTS", "50"))
#: Largest PDF accepted for signing, in bytes.
TUNGBAN_SIGNING_MAX_PDF_BYTES = int(os.environ.get("TUNGBAN_SIGNING_MAX_PDF_BYTES", str(10 * 1024 * 1024)))
#: Seconds signed results (and submitted PDFs) are kept for the service to fetch.
TUNGBAN_SIGNING_RESULT_TTL = int(os.environ.get("TUNGBAN_SIGNING_RESULT_TTL", "3600"))
#: Days an end-entity signing certificate is valid.
TUNGBAN_SIGNING_CERT_DAYS = int(os.environ.get("TUNGBAN_SIGNING_CERT_DAYS", "730"))
#: Largest file (or document + signature) the public verification page and API accept.
TUNGBAN_VERIFY_MAX_BYTES = int(os.environ.get("TUNGBAN_VERIFY_MAX_BYTES", str(20 * 1024 * 1024)))
#: Most pages a PDF may have to be signed or verified (a crafted 100,000-page PDF held a worker for 14 s).
TUNGBAN_PDF_MAX_PAGES = int(os.environ.get("TUNGBAN_PDF_MAX_PAGES", "5000"))
#: Longest one signature verification (page or API) may run, in seconds (0: unbounded).
TUNGBAN_VERIFY_MAX_SECONDS = float(os.environ.get("TUNGBAN_VERIFY_MAX_SECONDS", "10"))
#: Verifications run in child processes that are stopped when they overrun (signing/isolation.py):
#: children per web process, seconds a request may wait for a free one before answering
#: verification_unavailable (503; short, so slow uploads cannot hold the web threads logins need),
#: requests of a web process that may wait at once (the others get the 503 at once), calls a
#: child serves before it is replaced, and the bytes of address space a child may use (RLIMIT_AS;
#: past it, e.g. a decompression bomb, the upload is pdf_too_complex; 0: unbounded).
TUNGBAN_VERIFY_WORKERS = int(os.environ.get("TUNGBAN_VERIFY_WORKERS", "2"))
TUNGBAN_VERIFY_WAIT_SECONDS = float(os.environ.get("TUNGBAN_VERIFY_WAIT_SECONDS", "1"))
TUNGBAN_VERIFY_MAX_WAITING = int(os.environ.get("TUNGBAN_VERIFY_MAX_WAITING", "2"))
TUNGBAN_VERIFY_MAX_TASKS = int(os.environ.get("TUNGBAN_VERIFY_MAX_TASKS", "500"))
TUNGBAN_VERIFY_MAX_MEMORY = int(os.environ.get("TUNGBAN_VERIFY_MAX_MEMORY", str(1024 * 1024 * 1024)))
#: Exchange gateway (issue #4): seconds to wait for a data provider before answering provider_timeout.
TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT = float(os.environ.get("TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT", "5"))
#: Seconds past a provider's timeout after which an exchange attempt still in flight (its worker
#: was killed, or lost the database, after asking the provider) is shown as "outcome unknown"
#: (issue 14 item 4). Covers the connect timeout, a slow body and the completing transaction.
TUNGBAN_EXCHANGE_ATTEMPT_MARGIN = float(os.environ.get("TUNGBAN_EXCHANGE_ATTEMPT_MARGIN", "60"))
#: Web processes (``tungban serve``, tungban.core.serving; issue 14 item 1, issue 15): the
#: server (granian, default; gunicorn-gthread, gunicorn-sync, uvicorn to compare), processes
#: (0: one per core), threads per process (requests served at once) and the timeout (s:
#: gunicorn's silent-worker timeout; granian's request-head read timeout).
TUNGBAN_WEB_SERVER = os.environ.get("TUNGBAN_WEB_SERVER", "granian")
TUNGBAN_WEB_WORKERS = int(os.environ.get("TUNGBAN_WEB_WORKERS", "0"))
TUNGBAN_WEB_THREADS = int(os.environ.get("TUNGBAN_WEB_THREADS", "8"))
TUNGBAN_WEB_TIMEOUT = int(os.environ.get("TUNGBAN_WEB_TIMEOUT", "60"))
#: Seconds to wait for a provider's TCP (and TLS) connection: short, so an unreachable provider
#: fails fast (issue 14 item 1); the read timeout is TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT (or the
#: provider's own timeout_seconds).
TUNGBAN_PROVIDER_CONNECT_TIMEOUT = float(os.environ.get("TUNGBAN_PROVIDER_CONNECT_TIMEOUT", "2"))
#: Circuit breaker per provider (tungban.exchange.resilience): consecutive failures that open
#: it, and seconds it stays open before one trial call.
TUNGBAN_PROVIDER_BREAKER_FAILURES = int(os.environ.get("TUNGBAN_PROVIDER_BREAKER_FAILURES", "5"))
TUNGBAN_PROVIDER_BREAKER_RESET = float(os.environ.get("TUNGBAN_PROVIDER_BREAKER_RESET", "30"))
#: Failures of one data user's calls open only that data user's circuit towards the provider;
#: the provider's own circuit (refusing every data user) opens only when at least this many
#: distinct data users have failing circuits towards it (review finding H2).
TUNGBAN_PROVIDER_BREAKER_DATA_USERS = int(os.environ.get("TUNGBAN_PROVIDER_BREAKER_DATA_USERS", "2"))
#: Bulkhead: calls to one provider in flight at once in one web process; more are refused at
#: once with provider_busy (503) and Retry-After: TUNGBAN_PROVIDER_BUSY_RETRY_AFTER seconds.
TUNGBAN_PROVIDER_MAX_CONCURRENT = int(os.environ.get("TUNGBAN_PROVIDER_MAX_CONCURRENT", "4"))
TUNGBAN_PROVIDER_BUSY_RETRY_AFTER = int(os.environ.get("TUNGBAN_PROVIDER_BUSY_RETRY_AFTER", "2"))
#: The share of those slots one data user may hold at once (0.5: half, at least one), so one
#: data user's slow calls cannot fill them all (review finding H2).
TUNGBAN_PROVIDER_DATA_USER_SHARE = float(os.environ.get("TUNGBAN_PROVIDER_DATA_USER_SHARE", "0.5"))
#: Largest provider answer accepted, in bytes.
TUNGBAN_EXCHANGE_MAX_RESPONSE_BYTES = int(os.environ.get("TUNGBAN_EXCHANGE_MAX_RESPONSE_BYTES", str(256 * 1024)))
#: Longest consent a data user may ask for, in seconds (default one year).
TUNGBAN_EXCHANGE_MAX_CONSENT_SECONDS = int(os.environ.get("TUNGBAN_EXCHANGE_MAX_CONSENT_SECONDS", str(365 * 86400)))
#: Mutual TLS towards providers: client certificate and key files (PEM), and the CA bundle
#: that signs the providers' server certificates. Empty: plain loopback HTTP (demo).
TUNGBAN_EXCHANGE_TLS_CERT = os.environ.get("TUNGBAN_EXCHANGE_TLS_CERT", "")
TUNGBAN_EXCHANGE_TLS_KEY = os.environ.get("TUNGBAN_EXCHANGE_TLS_KEY", "")
TUNGBAN_EXCHANGE_TLS_CA = os.environ.get("TUNGBAN_EXCHANGE_TLS_CA", "")
# JSON bodies carry base64 PDFs: allow the largest signing request (and a little more).
# e-Licences (issue #5): a status list token's ``ttl`` and Cache-Control max-age (seconds),
TUNGBAN_STATUS_LIST_TTL = int(os.environ.get("TUNGBAN_STATUS_LIST_TTL", "60"))
# how long a signed status list token stays valid (``exp``, seconds),
TUNGBAN_STATUS_LIST_VALIDITY = int(os.environ.get("TUNGBAN_STATUS_LIST_VALIDITY", str(24 * 3600)))
# and how old a holder's key-binding proof may be when 認證易 checks it (seconds).
TUNGBAN_PRESENTATION_MAX_AGE = int(os.environ.get("TUNGBAN_PRESENTATION_MAX_AGE", "300"))
# and how long a verifier code 認證易 offers stays usable (seconds; single use, issue 13 item 12).
TUNGBAN_VERIFIER_NONCE_TTL = int(os.environ.get("TUNGBAN_VERIFIER_NONCE_TTL", "600"))
# Personal code (個人碼, issue 16): how long the per-verifier credential the platform gives the
# app stays usable offline (seconds), how old the QR's holder proof may be (seconds, at most 60),
# the verifiers residents can pick (JSON {"id": {"name_en", "name_zh"}}) and the one the counter's
# page verifies as. Verifying is offline, with no status check: codes made from a credential the
# app holds stay valid until its expiry even after the account is suspended or the phone reported
# lost (issue 16 review L2). The app fetches a new credential whenever it is online, so the TTL
# is only the offline grace: 6 hours (was 24) covers a day out with no signal in part while
# limiting a stolen phone's codes after suspension to a quarter of a day.
TUNGBAN_PERSONAL_CODE_TTL = int(os.environ.get("TUNGBAN_PERSONAL_CODE_TTL", str(6 * 3600)))
TUNGBAN_PERSONAL_CODE_MAX_AGE = min(60, int(os.environ.get("TUNGBAN_PERSONAL_CODE_MAX_AGE", "60")))
TUNGBAN_PERSONAL_CODE_VERIFIERS = json.loads(
    os.environ.get("TUNGBAN_PERSONAL_CODE_VERIFIERS", "")
    or '{"counter": {"name_en": "tungban registration counter", "name_zh": "通辦登記櫃位"},'
    ' "hkpl": {"name_en": "Hong Kong Public Libraries (demo)", "name_zh": "香港公共圖書館（示範）"}}'
)
TUNGBAN_COUNTER_VERIFIER = os.environ.get("TUNGBAN_COUNTER_VERIFIER", "counter")
# The transparency log's latest tree head is signed again (fresh timestamp, active key) when
# it is older than this many seconds or its key was rotated.
TUNGBAN_TREE_HEAD_MAX_AGE = int(os.environ.get("TUNGBAN_TREE_HEAD_MAX_AGE", str(24 * 3600)))
# The worker publishes a fresh signed head of the transparency log (on the purge schedule,
# TUNGBAN_PURGE_INTERVAL) when the latest published one is older than this many seconds, so
# witnesses see the log is live even without writes (issue 14 item 10).
TUNGBAN_TREE_HEAD_INTERVAL = int(os.environ.get("TUNGBAN_TREE_HEAD_INTERVAL", "300"))
# The transparency log's maximum merge delay (seconds; issue 15): a leaf queued with its record
# (an exchange's attempt and record) is in the tree under a signed head within this time; the
# data user's answer carries the platform's signed promise of it (``log.merge_by``), as a
# Certificate Transparency SCT. Leaves are integrated at once by whichever request finds the
# log free; the worker's schedule (TUNGBAN_PURGE_INTERVAL) catches any left, so the default is
# twice that. ``verify_exchange_log`` reports a leaf queued for longer.
TUNGBAN_LOG_MERGE_DELAY = int(os.environ.get("TUNGBAN_LOG_MERGE_DELAY", "1200"))
# Issue 15, fourth round: a web process integrates the log's queued leaves at most once per
# this many milliseconds (from the exchange that finds the interval over: every leaf queued
# meanwhile, under one signed head); the exchanges in between make no round trip for the log,
# their leaves promised (above). 0: every exchange integrates after its commits if the log is
# free. What an exchange leaves queued when traffic stops goes to the next one or the worker.
TUNGBAN_LOG_BATCH_INTERVAL_MS = int(os.environ.get("TUNGBAN_LOG_BATCH_INTERVAL_MS", "100"))
#: Largest request body accepted, in bytes (JSON bodies carry base64 PDFs for signing);
#: refused from its Content-Length before it is read (core.middleware, issue 13 item 4).
TUNGBAN_MAX_REQUEST_BYTES = int(os.environ.get("TUNGBAN_MAX_REQUEST_BYTES", str(48 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = TUNGBAN_MAX_REQUEST_BYTES
#: Smaller limits by path prefix: the verification uploads carry a document and a signature.
TUNGBAN_REQUEST_SIZE_LIMITS = {
    prefix: 2 * TUNGBAN_VERIFY_MAX_BYTES + 1024 * 1024 for prefix in ("/signing/verify", "/api/v1/signing/verify")
}

# --- Background tasks (django.tasks) ---------------------------------------------------------
# Bulk issuance, bulk signing and callbacks run in `tungban worker` processes, not in web
# requests. The default backend keeps the queue in the platform's own database
# (django-tasks-db): SQLite needs no broker; on PostgreSQL any number of workers on any hosts
# share the queue (rows are claimed with SELECT ... FOR UPDATE SKIP LOCKED).
TASKS = {
    "default": {
        # Background jobs rely on this backend: a task is stored before it runs (a job saves the
        # task's id with its state), deferred runs (retry backoff), and `tungban worker`.
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}
#: Attempts a job gets (the first run and its retries) before it is marked failed.
TUNGBAN_TASK_MAX_ATTEMPTS = int(os.environ.get("TUNGBAN_TASK_MAX_ATTEMPTS", "5"))
#: Seconds before the first retry; each further retry waits twice as long.
TUNGBAN_TASK_RETRY_DELAY = float(os.environ.get("TUNGBAN_TASK_RETRY_DELAY", "10"))
#: A task still "running" this many seconds after it started, on a worker of another host,
#: is taken to be orphaned (its worker died) and queued again. Tasks are short (one chunk of a
#: batch, one request's documents, one callback), and re-running one is harmless.
TUNGBAN_TASK_STALE_SECONDS = int(os.environ.get("TUNGBAN_TASK_STALE_SECONDS", "900"))
# Purging expired protocol state (issue 14 item 7; schedule in docs/operations.md).
#: Seconds between runs of the scheduled purge (`tungban worker` runs it; cron may run
#: `tungban purge_expired` instead).
TUNGBAN_PURGE_INTERVAL = int(os.environ.get("TUNGBAN_PURGE_INTERVAL", "600"))
#: Seconds an expired protocol row (code, token, approval request) is kept after its
#: lifetime ended before it is deleted (room for support questions, "why did my login fail").
TUNGBAN_EXPIRED_RETENTION = int(os.environ.get("TUNGBAN_EXPIRED_RETENTION", str(24 * 3600)))
#: Seconds a finished background-task result is kept (django-tasks-db's default: 14 days).
TUNGBAN_TASK_RESULT_RETENTION = int(os.environ.get("TUNGBAN_TASK_RESULT_RETENTION", str(14 * 24 * 3600)))
# Idempotent retries (issue 14 item 2; tungban.core.idempotency, docs/integrators.md §1a).
#: Seconds an ``Idempotency-Key`` (and an exchange's ``request_id``) is remembered with its
#: first answer: a retry within this time gets that answer again; the scheduled purge then
#: deletes it. At least twice ``TUNGBAN_CLOCK_SKEW``, so a request still within the accepted
#: clock skew can never outlive its key.
TUNGBAN_IDEMPOTENCY_TTL = max(int(os.environ.get("TUNGBAN_IDEMPOTENCY_TTL", str(24 * 3600))), 2 * TUNGBAN_CLOCK_SKEW)
#: ``0`` keeps a web worker's start-up objects in the garbage collector's generations instead
#: of freezing them (``tungban.core.memory``; issue 14 acceptance 5): only to compare, the
#: workers' memory then creeps for an hour or more.
TUNGBAN_GC_FREEZE = os.environ.get("TUNGBAN_GC_FREEZE", "1") != "0"
# Notifications (issue 16; tungban.notify).
#: Seconds a notification (its encrypted texts) is kept before the scheduled purge deletes it.
# Compute (issue 20, part B; docs/operations.md "Compute (Slurm)"): the batch scheduler the
# platform provisions accounts on and imports usage from. "slurm" runs sacctmgr/sacct/squeue
# (from TUNGBAN_SLURM_BIN, else PATH) as the platform's OS user with SLURM_CONF =
# TUNGBAN_SLURM_CONF when set; "none" leaves accounts pending with that reason.
TUNGBAN_SCHEDULER = os.environ.get("TUNGBAN_SCHEDULER", "none")
TUNGBAN_SLURM_CLUSTER = os.environ.get("TUNGBAN_SLURM_CLUSTER", "tungban")
TUNGBAN_SLURM_CONF = os.environ.get("TUNGBAN_SLURM_CONF", "")
TUNGBAN_SLURM_BIN = os.environ.get("TUNGBAN_SLURM_BIN", "")
TUNGBAN_SLURM_TIMEOUT = float(os.environ.get("TUNGBAN_SLURM_TIMEOUT", "60"))
# Seconds between two usage imports (sacct); 0: no schedule (cron runs `tungban sync_usage`).
TUNGBAN_COMPUTE_SYNC_INTERVAL = int(os.environ.get("TUNGBAN_COMPUTE_SYNC_INTERVAL", "600"))
TUNGBAN_NOTIFY_RETENTION = int(os.environ.get("TUNGBAN_NOTIFY_RETENTION", str(180 * 86400)))
#: VAPID ``sub`` claim (RFC 8292 §2.1): a mailto: or https: contact for push services.
TUNGBAN_VAPID_SUBJECT = os.environ.get("TUNGBAN_VAPID_SUBJECT", "mailto:push@tungban.invalid")
#: Seconds a push service keeps an undelivered push message (RFC 8030 §5.2 TTL).
TUNGBAN_PUSH_TTL = int(os.environ.get("TUNGBAN_PUSH_TTL", str(7 * 86400)))
#: Seconds to wait for a push service's answer: connecting, the status, and reading the
#: (capped) body each end by then (``tungban.notify.services.PushSession``).
TUNGBAN_PUSH_TIMEOUT = float(os.environ.get("TUNGBAN_PUSH_TIMEOUT", "5"))
#: ``1`` allows push endpoints on loopback (``http://127.0.0.1:…`` or https): a local test push
#: service (tests, demo; on with ``TUNGBAN_DEBUG``). Off: only https endpoints whose host
#: resolves to public internet addresses (never private, link-local/metadata, multicast or
#: reserved ones; ``tungban.notify.services.check_endpoint``).
TUNGBAN_PUSH_ALLOW_HTTP = _flag("TUNGBAN_PUSH_ALLOW_HTTP") or DEBUG
#: Seconds the personal assistant panel shows a kept answer (the water bill) before fetching
#: it again through the gateway; "Refresh" fetches at once (security review M5).
TUNGBAN_ASSISTANT_REFRESH_SECONDS = int(os.environ.get("TUNGBAN_ASSISTANT_REFRESH_SECONDS", "3600"))
#: The e-form assistant (issue 22): an optional generative model endpoint that may only
#: *rephrase* the retrieved passage (the source and its link are always kept); empty (the
#: default): answers are the passages quoted as they are, offline, with no model.
TUNGBAN_ASSISTANT_MODEL_URL = os.environ.get("TUNGBAN_ASSISTANT_MODEL_URL", "")
#: Seconds to wait for that endpoint; on any failure the passage is quoted as it is.
TUNGBAN_ASSISTANT_MODEL_TIMEOUT = float(os.environ.get("TUNGBAN_ASSISTANT_MODEL_TIMEOUT", "5"))
#: Credentials issued per task run (one transaction) in a bulk issuance.
TUNGBAN_ISSUANCE_CHUNK = int(os.environ.get("TUNGBAN_ISSUANCE_CHUNK", "1000"))
#: The platform's own relying parties (issue 17): ``oidc.services.first_party_login`` resolves
#: their pairwise ``sub`` to the resident (the e-services portal issues e-licences into the app).
TUNGBAN_FIRST_PARTY_CLIENTS = ("tungban-eservices",)
#: e-services (issue 17): where uploaded documents are kept (encrypted, outside the database).
#: Open data (issue 21): the content-addressed store of resource versions (shared storage when
#: several web servers run) and the largest file a data officer may upload or a harvest fetch.
TUNGBAN_OPENDATA_FILES = Path(os.environ.get("TUNGBAN_OPENDATA_FILES", VAR_DIR / "opendata"))
# 1823 cases (issue 22): attachments, encrypted, outside the database.
TUNGBAN_HOTLINE_FILES = Path(os.environ.get("TUNGBAN_HOTLINE_FILES", VAR_DIR / "hotline"))
#: 1823 cases (issue 22, part scases): days after closure the person may reopen a case; files
#: a case may carry and the largest of them (bytes).
TUNGBAN_HOTLINE_REOPEN_DAYS = int(os.environ.get("TUNGBAN_HOTLINE_REOPEN_DAYS", "30"))
TUNGBAN_HOTLINE_MAX_ATTACHMENTS = int(os.environ.get("TUNGBAN_HOTLINE_MAX_ATTACHMENTS", "5"))
TUNGBAN_HOTLINE_MAX_ATTACHMENT_BYTES = int(os.environ.get("TUNGBAN_HOTLINE_MAX_ATTACHMENT_BYTES", str(5 * 1024 * 1024)))
TUNGBAN_OPENDATA_MAX_UPLOAD = int(os.environ.get("TUNGBAN_OPENDATA_MAX_UPLOAD", str(20 * 1024 * 1024)))
#: Harvest sources (issue 21): seconds a fetch may take (connect and each read), the shortest
#: interval a data officer may register, and whether addresses on private networks may be
#: harvested (off by default: a harvest must not reach the platform's own network).
TUNGBAN_OPENDATA_HARVEST_TIMEOUT = float(os.environ.get("TUNGBAN_OPENDATA_HARVEST_TIMEOUT", "30"))
TUNGBAN_OPENDATA_HARVEST_MIN_INTERVAL = int(os.environ.get("TUNGBAN_OPENDATA_HARVEST_MIN_INTERVAL", "15"))
TUNGBAN_OPENDATA_HARVEST_PRIVATE = os.environ.get("TUNGBAN_OPENDATA_HARVEST_PRIVATE", "") == "1"
TUNGBAN_ESERVICES_FILES = Path(os.environ.get("TUNGBAN_ESERVICES_FILES", VAR_DIR / "eservices"))
#: Largest document a resident may upload to a form field (bytes), unless the field says less.
TUNGBAN_ESERVICES_MAX_UPLOAD = int(os.environ.get("TUNGBAN_ESERVICES_MAX_UPLOAD", str(5 * 1024 * 1024)))
#: Hong Kong general holidays for pledge timers (working days): a JSON file, by default the
#: bundled 1823 calendar (docs/operations.md, "Hong Kong general holidays"); "" for none.
TUNGBAN_ESERVICES_HOLIDAYS = os.environ.get(
    "TUNGBAN_ESERVICES_HOLIDAYS", str(BASE_DIR / "eservices" / "catalogue" / "holidays" / "hk-general-holidays.json")
)
#: Department systems' webhooks (issue 17): seconds to wait for an endpoint's answer, and
#: whether loopback http endpoints are allowed (tests and the demo only; off in production).
TUNGBAN_WEBHOOK_TIMEOUT = float(os.environ.get("TUNGBAN_WEBHOOK_TIMEOUT", "10"))
TUNGBAN_WEBHOOK_ALLOW_LOCAL = _flag("TUNGBAN_WEBHOOK_ALLOW_LOCAL") or DEBUG
#: e-Payment for department systems, cards and bills (issue 18 part 4; tungban.payments):
#: the payment service provider for card and e-wallet payments ("" none: FPS only; "mock" the
#: mock PSP served by the platform, tests and the demo; or an adapter's dotted path), the
#: secret of the mock's signed webhooks (generated in var/, never committed), when the mock
#: sends them (after_redirect, before_redirect, twice, never: the failures a real PSP has), and
#: the days after a bill's due date that its payment order stays payable.
TUNGBAN_PAYMENTS_PSP = os.environ.get("TUNGBAN_PAYMENTS_PSP", "mock" if DEBUG else "")
TUNGBAN_PAYMENTS_PSP_SECRET = _generated(
    "payments_psp_secret", "TUNGBAN_PAYMENTS_PSP_SECRET", lambda: secrets.token_urlsafe(32)
)
TUNGBAN_PAYMENTS_MOCK_PSP_WEBHOOKS = os.environ.get("TUNGBAN_PAYMENTS_MOCK_PSP_WEBHOOKS", "after_redirect")
TUNGBAN_PAYMENTS_BILL_GRACE_DAYS = int(os.environ.get("TUNGBAN_PAYMENTS_BILL_GRACE_DAYS", "30"))
#: Documents one post of the resident's pages may carry (a page's file fields, an answer to a
#: request for information); the body of such a post is refused by its Content-Length above
#: that many uploads and 1 MB of form fields, before anything reads it.
TUNGBAN_ESERVICES_MAX_FILES = int(os.environ.get("TUNGBAN_ESERVICES_MAX_FILES", "5"))
TUNGBAN_REQUEST_SIZE_LIMITS["/services/my/"] = TUNGBAN_ESERVICES_MAX_UPLOAD * TUNGBAN_ESERVICES_MAX_FILES + 1024 * 1024

# e-Payment (issue 18; tungban.payments).
#: The government's collection account as FPS knows it (the payee of every FPS QR code): the
#: proxy type (``fps_id``, ``mobile`` or ``email``) and value, and optionally the receiving
#: participant's 3-digit clearing code. The default is an e-mail address on the reserved
#: ``.invalid`` domain (RFC 2606), which no bank can register, so a demo QR code scanned by a
#: real banking app pays nobody.
TUNGBAN_PAYMENTS_FPS_PROXY_TYPE = os.environ.get("TUNGBAN_PAYMENTS_FPS_PROXY_TYPE", "email")
TUNGBAN_PAYMENTS_FPS_PROXY = os.environ.get("TUNGBAN_PAYMENTS_FPS_PROXY", "collect@tungban.invalid")
TUNGBAN_PAYMENTS_FPS_CLEARING_CODE = os.environ.get("TUNGBAN_PAYMENTS_FPS_CLEARING_CODE", "")
#: The payee's name (at most 25 characters) and city (at most 15) in the QR code (EMVCo IDs 59, 60).
TUNGBAN_PAYMENTS_MERCHANT_NAME = os.environ.get("TUNGBAN_PAYMENTS_MERCHANT_NAME", "TUNGBAN DEMO GOVERNMENT")
TUNGBAN_PAYMENTS_MERCHANT_CITY = os.environ.get("TUNGBAN_PAYMENTS_MERCHANT_CITY", "HONG KONG")
#: Seconds an unpaid payment order stays payable (GOV.UK Pay: 90 minutes); then ``expired``.
TUNGBAN_PAYMENTS_ORDER_TTL = int(os.environ.get("TUNGBAN_PAYMENTS_ORDER_TTL", str(90 * 60)))
#: The FPS participant bank (the demo's: examples/bank): its base URL (the payment page's "Pay
#: with your bank app" link, the statements' address) and one HMAC-SHA256 key per direction
#: (review finding 14; generated at set-up in var/, never committed): the bank signs its payment
#: notifications with ``..._BANK_SECRET`` (bank → platform), the platform signs its statement
#: requests with ``..._BANK_REQUEST_SECRET`` (platform → bank). A key that leaks from one side
#: then cannot forge the other side's messages; the check ``payments.E003`` refuses equal keys.
TUNGBAN_PAYMENTS_BANK_URL = os.environ.get("TUNGBAN_PAYMENTS_BANK_URL", "http://127.0.0.1:8301").rstrip("/")
TUNGBAN_PAYMENTS_BANK_SECRET = _generated(
    "payments_bank_secret", "TUNGBAN_PAYMENTS_BANK_SECRET", lambda: secrets.token_urlsafe(32)
)
TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET = _generated(
    "payments_bank_request_secret", "TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET", lambda: secrets.token_urlsafe(32)
)
#: Refunds (pay-refund): above this amount (HK$ cents; HK$10,000 by default) a refund needs,
#: besides a second officer's approval, an approver's (three people in all).
TUNGBAN_REFUND_SECOND_APPROVAL_CENTS = int(os.environ.get("TUNGBAN_REFUND_SECOND_APPROVAL_CENTS", "1000000"))
#: The government's collection account (``TUNGBAN_PAYMENTS_COLLECTION_ACCOUNT``, defined
#: once, under "Reconciliation" below) is also the one refunds are paid from, as the refund
#: instruction files (ISO 20022 pain.001) name it, with its bank's 3-digit clearing code:
TUNGBAN_PAYMENTS_COLLECTION_BANK_CODE = os.environ.get("TUNGBAN_PAYMENTS_COLLECTION_BANK_CODE", "999")
#: The OpenID client whose pairwise ``sub`` the payments' notifications address residents by.
TUNGBAN_PAYMENTS_NOTIFY_CLIENT = os.environ.get("TUNGBAN_PAYMENTS_NOTIFY_CLIENT", "tungban-eservices")
#: Seconds a receipt's download link (given in the app and on the payment pages) stays valid.
TUNGBAN_RECEIPT_LINK_SECONDS = int(os.environ.get("TUNGBAN_RECEIPT_LINK_SECONDS", "900"))

# Reconciliation (tungban.payments.services.reconciliation; docs/payments-reconciliation.md).
#: The collection account's number as the bank's statements name it (``Stmt/Acct/Id``; the
#: demo bank's, ``examples/bank/statements.py``); a file for another account is refused
#: (``statement_wrong_account``). Empty: not checked. Refund files name it as their debtor account.
TUNGBAN_PAYMENTS_COLLECTION_ACCOUNT = os.environ.get("TUNGBAN_PAYMENTS_COLLECTION_ACCOUNT", "888-100200-001")
#: The largest statement file accepted (bytes; a day of 10,000 FPS credits is about 15 MB).
TUNGBAN_PAYMENTS_STATEMENT_MAX_BYTES = int(os.environ.get("TUNGBAN_PAYMENTS_STATEMENT_MAX_BYTES", str(50_000_000)))
#: A folder holding the official ISO 20022 schemas, named after their message identifier
#: (``camt.053.001.08.xsd``...): a file of a version found there is validated against it too.
TUNGBAN_PAYMENTS_CAMT_XSD_DIR = os.environ.get("TUNGBAN_PAYMENTS_CAMT_XSD_DIR", "")
#: With ``TUNGBAN_PAYMENTS_STATEMENT_FETCH=1`` (production, the demo) the worker fetches yesterday's
#: ``camt.053`` from the bank once it is past ``..._FETCH_HOUR`` (Hong Kong time).
TUNGBAN_PAYMENTS_STATEMENT_FETCH_AUTO = _flag("TUNGBAN_PAYMENTS_STATEMENT_FETCH")
TUNGBAN_PAYMENTS_STATEMENT_FETCH_HOUR = int(os.environ.get("TUNGBAN_PAYMENTS_STATEMENT_FETCH_HOUR", "1"))
#: Seconds the bank may take to send a statement.
TUNGBAN_PAYMENTS_STATEMENT_FETCH_TIMEOUT = float(os.environ.get("TUNGBAN_PAYMENTS_STATEMENT_FETCH_TIMEOUT", "30"))

#: Cross-boundary login on OpenID Federation 1.0 (issue 23; docs/operations.md "Federation"):
#: whether trust-chain fetches may reach private and loopback addresses (off: a chain must not
#: make the platform call its own network; on in tests and the demo, where every instance is on
#: 127.0.0.1), seconds a fetch may take (connect and read), and statement lifetimes in seconds
#: (entity configurations, subordinate statements, trust marks).
TUNGBAN_FEDERATION_ALLOW_PRIVATE = _flag("TUNGBAN_FEDERATION_ALLOW_PRIVATE")
TUNGBAN_FEDERATION_FETCH_TIMEOUT = float(os.environ.get("TUNGBAN_FEDERATION_FETCH_TIMEOUT", "5"))
#: HTTP fetches one trust chain resolution may make (statements, trust mark checks; issue 23
#: review: an unauthenticated request starts one). Its deadline is 3 × the fetch timeout.
TUNGBAN_FEDERATION_MAX_FETCHES = int(os.environ.get("TUNGBAN_FEDERATION_MAX_FETCHES", "20"))
TUNGBAN_FEDERATION_ENTITY_LIFETIME = int(os.environ.get("TUNGBAN_FEDERATION_ENTITY_LIFETIME", "3600"))
TUNGBAN_FEDERATION_STATEMENT_LIFETIME = int(os.environ.get("TUNGBAN_FEDERATION_STATEMENT_LIFETIME", "600"))
TUNGBAN_FEDERATION_TRUST_MARK_LIFETIME = int(os.environ.get("TUNGBAN_FEDERATION_TRUST_MARK_LIFETIME", "86400"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TUNGBAN_LOG_LEVEL", "WARNING")},
    "loggers": {"tungban": {"level": os.environ.get("TUNGBAN_LOG_LEVEL", "INFO")}},
}
