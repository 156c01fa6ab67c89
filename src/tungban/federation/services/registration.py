"""The OpenID provider's side of cross-boundary login. Part fop.

Automatic registration (OpenID Federation 1.0 §12.1): an authorization request whose
``client_id`` is an entity identifier resolves the RP's trust chain (:func:`.chain.resolve`,
the cross-boundary trust mark required), applies the result to an ``oidc`` client row, and
opens the app approval with the cross-boundary consent (binding, the exact claims that cross,
the legal basis). Registered with ``tungban.oidc`` by :mod:`tungban.federation.apps`.
"""
