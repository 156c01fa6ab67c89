"""Test set-up for the demo CDEG data providers.

Nothing here imports Django or ``tungban``: these tests run with ``-p no:django`` and also
inside the platform's pytest-django suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # e.g. under --import-mode=importlib
    sys.path.insert(0, str(ROOT))
