"""WSGI entry point: ``gunicorn tungban.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")
application = get_wsgi_application()

# Start this process's verifier children now rather than on the first upload (they take a
# few seconds to set Django up): signing/isolation.py.
from tungban.signing import isolation  # noqa: E402

isolation.warm()
