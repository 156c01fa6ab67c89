"""Pages of the AI Subsidy Scheme: funds (issue 20; filled by the part that owns them)."""

urlpatterns: list = []
