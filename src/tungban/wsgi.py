"""WSGI entry point: ``gunicorn tungban.wsgi``. Django's application behind
:class:`tungban.core.front.Front`, which answers the precomputed public documents (discovery,
the JWKS) from bytes before Django builds a request (issue 15)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")
application = get_wsgi_application()

from tungban.core.front import Front  # noqa: E402 - after Django is set up

application = Front(application)

# Start this process's verifier children now rather than on the first upload (they take a
# few seconds to set Django up): signing/isolation.py.
from tungban.signing import isolation  # noqa: E402

isolation.warm()

# Start-up objects out of the garbage collector's way, so that the requests it has to free
# are freed as the worker serves (issue 14 acceptance 5; tungban.core.memory).
from tungban.core.memory import freeze_startup_objects  # noqa: E402 - after Django is set up

freeze_startup_objects()
