"""Sample applications that use the tungban platform (not part of the platform itself)."""
