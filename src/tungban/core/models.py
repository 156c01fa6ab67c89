"""core has no models of its own. The module exists so that Django sends ``post_migrate`` for
this app, on which :mod:`tungban.core.apps` creates the rate limiter's cache table."""
