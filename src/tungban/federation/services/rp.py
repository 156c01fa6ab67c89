"""Hosted services as relying parties of a partner platform's OpenID provider. Part frp.

A hosted service (:class:`~tungban.federation.models.Entity`, role ``service``) logs in a
partner's resident: resolve the provider's trust chain, a signed request object and
``private_key_jwt`` with the service's protocol key (§12.1 automatic registration), PKCE, the
ID token verified with the provider's keys from the resolved metadata, the assurance level
checked against the service's ``required_acr`` (through the partner's ``acr_map``).
"""
