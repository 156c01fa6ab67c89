"""一網通辦 e-services (issue 17): departments' services and their versioned forms as files, a
resident's applications through a state machine (django-fsm-2), officers' decisions, and the
e-licence issued into the app on approval. See ``docs/architecture.md`` ("eservices")."""
