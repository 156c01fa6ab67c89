"""Constants of the mini-program platform."""

#: ``ReleaseRecord.kind`` of a release to a mini-app (registered with ``tungban.wallet.kinds``).
RELEASE_KIND = "miniapp"
#: ``ReleaseRecord.requester_id`` prefix: ``miniapp:<id>``.
REQUESTER_PREFIX = "miniapp:"
#: The default pairwise sector of a mini-app: ``miniapp:<id>`` (see ``MiniApp.sector``).
SECTOR_PREFIX = "miniapp:"
#: ``typ`` of the signed launch context (RFC 8725 §3.11 explicit typing).
LAUNCH_TYP = "miniapp-launch+jwt"
#: Lifetime of a launch context, seconds (Telegram Mini Apps check ``auth_date``'s age likewise).
LAUNCH_TTL = 300
#: A bundle's limits (WeChat: 2 MB a package): total bytes and number of files.
MAX_BUNDLE_BYTES = 2 * 1024 * 1024
MAX_FILES = 50
#: File types a bundle may hold, with the media type they are served as.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
#: The policy every bundle file is served with: the response is itself sandboxed (scripts
#: only: an opaque origin even when opened outside the app), reaches no network at all
#: (``connect-src 'none'``: only the app's bridge brokers data), loads its own files only,
#: submits no forms and can be framed only by the platform's own pages.
BUNDLE_CSP = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'none'"],
    "form-action": ["'none'"],
    "base-uri": ["'none'"],
    "frame-src": ["'none'"],
    "worker-src": ["'none'"],
    "frame-ancestors": ["'self'"],
    "sandbox": ["allow-scripts"],
}
