"""Vehicle-licence renewal demo: a relying party that logs in through tungban.

A small Flask application that plays a pretend Transport Department online service.
It logs in with OpenID Connect (Authlib, PKCE S256) and pre-fills its renewal form from
the claims the resident chose to release. See ``README.md`` in this folder.
"""

from .app import create_app

__all__ = ["create_app"]
