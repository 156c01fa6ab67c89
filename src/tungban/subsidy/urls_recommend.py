"""Pages of the AI Subsidy Scheme: recommend (issue 20; filled by the part that owns them)."""

urlpatterns: list = []
