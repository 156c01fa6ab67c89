"""WSGI entry point: ``gunicorn tungban.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")
application = get_wsgi_application()
