"""ASGI entry point (``uvicorn tungban.asgi:application``): only to compare servers
(issue 15; ``tungban.core.serving``). Production runs the WSGI application (``tungban.wsgi``):
under ASGI Django runs every synchronous view of a process in one thread, so a request
waiting on a data provider would hold the whole process."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")
application = get_asgi_application()

from tungban.core.front import AsgiFront  # noqa: E402 - after Django is set up: the documents first (issue 15)

application = AsgiFront(application)

# As tungban.wsgi: this process's verifier children, and start-up objects out of the collector's way.
from tungban.signing import isolation  # noqa: E402

isolation.warm()

from tungban.core.memory import freeze_startup_objects  # noqa: E402 - after Django is set up

freeze_startup_objects()
