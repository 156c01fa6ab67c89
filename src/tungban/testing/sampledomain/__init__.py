"""A sample domain, installed for the test suite only (``tungban.testing.settings``).

It shows what a new domain adds to the platform, and the tests prove it is enough: one app
that registers an approval kind with the wallet (with a bound value the device must sign)
and an OAuth scope with a claim with the OpenID Provider, in its ``AppConfig.ready()``,
without editing or migrating the wallet or the OpenID Provider. See docs/architecture.md.
"""
