"""The catalogue's fixed vocabulary (issue 21): the categories bundled in
``opendata/data/groups.toml`` (seed 002 ITIB183: 19 categories)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from django.db import transaction

from ..models import Group

GROUPS_FILE = Path(__file__).resolve().parent.parent / "data" / "groups.toml"


def load_groups(path: Path = GROUPS_FILE) -> int:
    """Create or update the categories from ``path``; returns how many there are."""
    entries = tomllib.loads(path.read_text(encoding="utf-8"))["group"]
    with transaction.atomic():
        for position, g in enumerate(entries):
            Group.objects.update_or_create(
                name=g["name"],
                defaults={
                    "title_en": g["title_en"],
                    "title_zh": g["title_zh"],
                    "description_en": g.get("description_en", ""),
                    "description_zh": g.get("description_zh", ""),
                    "position": position,
                },
            )
    return len(entries)
