from __future__ import annotations

from pathlib import Path

import pytest

#: The demo mini-program (examples/miniapps/library_card).
DEMO = Path(__file__).resolve().parents[4] / "examples" / "miniapps" / "library_card"


@pytest.fixture
def library_card(db):
    from tungban.miniapps import services

    return services.publish(services.read_bundle(DEMO))
