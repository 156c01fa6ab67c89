"""Pages of the AI Subsidy Scheme: grants (issue 20; filled by the part that owns them)."""

urlpatterns: list = []
