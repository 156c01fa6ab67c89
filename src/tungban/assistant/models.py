"""Models: see the app's docstring (issue 22)."""
