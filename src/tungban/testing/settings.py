"""Settings of the test suite (``DJANGO_SETTINGS_MODULE`` in pyproject.toml): the platform's,
plus apps that exist only for tests. pytest-django sets Django up before any conftest hook
runs, so test-only apps are declared here rather than added from a conftest."""

from tungban.settings import *  # noqa: F403
from tungban.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tungban.testing.sampledomain"]

#: No key-ring listener thread (and so no extra connection to the test database) unless a test
#: starts one (tungban.keys.listener.start(force=True)).
TUNGBAN_KEYS_LISTEN = False
#: Every exchange integrates the log's queue after its commits (the tests of queued leaves see
#: them in the tree at once); the batches' own tests set an interval (issue 15, fourth round).
TUNGBAN_LOG_BATCH_INTERVAL_MS = 0
TUNGBAN_PUSH_ALLOW_HTTP = True  # the local test push service (tungban.testing.pushservice)
TUNGBAN_WEBHOOK_ALLOW_LOCAL = True  # webhook receivers on 127.0.0.1 in the e-services tests
#: The open-data store (issue 21) of the tests: the suite's own corner of var/ ("test-"), never
#: the demo's var/opendata (tests that check files set their own tmp_path).
TUNGBAN_OPENDATA_FILES = VAR_DIR / "test-opendata"  # noqa: F405
