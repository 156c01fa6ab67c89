"""Test helpers for the logs (issue 14 item 10): run the witness in-process, and do to the
transparency log what an operator with database access and the signing key could do to hide
or change entries — cut it back, or rewrite entries with the whole tree recomputed."""

from __future__ import annotations

from django.db import transaction

from tungban.ledger import transparency, witness
from tungban.ledger.models import LogLeaf, LogNode, LogState, PublishedHead, TreeHead

from .http import TEST_ORIGIN, InProcessSession


def run_witness(state, *extra: str) -> tuple[int, str]:
    """Run the witness command line against the in-process platform; (exit status, output)."""
    lines: list[str] = []
    code = witness.main(
        ["--base", TEST_ORIGIN, "--state", str(state), *extra], http=InProcessSession(), out=lines.append
    )
    return code, "\n".join(lines)


def cut_back(size: int) -> None:
    """Delete the leaves from ``size`` on, their nodes, every head past ``size`` (published
    ones too) and rewind the size row: a self-consistent shorter log."""
    LogLeaf.objects.filter(index__gte=size).delete()
    for level in range(1, 40):
        LogNode.objects.filter(level=level, index__gte=size >> level).delete()
    TreeHead.objects.filter(tree_size__gt=size).delete()
    PublishedHead.objects.filter(tree_size__gt=size).delete()
    LogState.objects.update(size=size)


def stored_entries() -> list[tuple[str, str, str]]:
    """Every leaf as ``(kind, reference, body)``, in order."""
    return list(LogLeaf.objects.order_by("index").values_list("kind", "reference", "body"))


def rebuild(entries: list[tuple[str, str, str]]) -> None:
    """Rewrite the whole tree from ``(kind, reference, body)`` entries (some altered): every
    leaf, node and per-size head recomputed, and a new head signed with the platform's own
    key and published — the strongest forger. Heads published before are left alone."""
    LogLeaf.objects.all().delete()
    LogNode.objects.all().delete()
    TreeHead.objects.all().delete()
    with transaction.atomic():
        tree = transparency.DatabaseTree(size=0)
        tree.append_entries(entries)
        size = tree.get_size()
        root = tree.root(size)
        ts = (PublishedHead.objects.order_by("-seq").values_list("timestamp", flat=True).first() or 0) + 1
        signature = transparency._sign_head(size, root, ts)
        TreeHead.objects.create(tree_size=size, root_hash=root, timestamp=ts, signature=signature)
        PublishedHead.objects.create(tree_size=size, root_hash=root, timestamp=ts, signature=signature)
        LogState.objects.update_or_create(name="main", defaults={"size": size})
