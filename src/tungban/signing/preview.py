"""The pages of a PDF to sign, as images for the app (issue 16: the app could not show the
document the resident signs).

:func:`page_png` renders one page of a submitted PDF with poppler's ``pdftoppm`` (and counts
its pages with ``pdfinfo``), in a child process of :mod:`.isolation` (no database, no secrets,
bounded memory and time), each tool a subprocess with its own timeout. The platform renders
what it will sign — the stored bytes whose SHA-256 the signed decision binds — so the picture
the resident sees is of that document, not of what a service says it is.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings

from . import errors, isolation

#: Longest side of a rendered page, in pixels (a phone screen's width at 2-3× density).
SIZE = 1200
#: Seconds each poppler tool may run inside the child.
TOOL_SECONDS = 8


def _render_in_child(pdf: bytes, page: int) -> tuple[bytes | None, int]:
    """``(PNG of page ``page`` or None when there is no such page, number of pages)``; run
    in an isolated child (:func:`.isolation.call`)."""
    with tempfile.TemporaryDirectory(prefix="tungban-preview-") as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(pdf)
        info = subprocess.run(
            ["pdfinfo", str(source)], capture_output=True, text=True, timeout=TOOL_SECONDS, check=True
        ).stdout
        match = re.search(r"^Pages:\s+(\d+)", info, re.M)
        pages = int(match.group(1)) if match else 0
        if not 1 <= page <= pages:
            return None, pages
        out = Path(tmp) / "page"
        subprocess.run(
            ["pdftoppm", "-png", "-f", str(page), "-l", str(page), "-singlefile", "-scale-to", str(SIZE), "-q"]
            + [str(source), str(out)],
            capture_output=True,
            timeout=TOOL_SECONDS,
            check=True,
        )
        return (out.with_suffix(".png")).read_bytes(), pages


def page_png(pdf: bytes, page: int) -> tuple[bytes, int]:
    """``(PNG bytes, number of pages)`` of page ``page`` (1-based) of ``pdf``.

    :raises DomainError: ``no_such_page`` (404), ``preview_unavailable`` (503: the renderer
        timed out, failed, or no child process was free)."""
    try:
        png, pages = isolation.call(
            _render_in_child, pdf, page, seconds=3 * TOOL_SECONDS, wait=settings.TUNGBAN_VERIFY_WAIT_SECONDS
        )
    except (isolation.TimedOut, isolation.ChildDied, isolation.OutOfMemory, isolation.Unavailable):
        raise errors.PreviewUnavailable() from None
    except (subprocess.SubprocessError, OSError):
        raise errors.PreviewUnavailable() from None
    if png is None:
        raise errors.NoSuchPage(pages=pages)
    return png, pages
