"""axe-core accessibility checks for end-to-end tests (WCAG 2.x A and AA rules).

axe-core is pinned in ``testing/axe/package.json`` (+ lock) and installed once with ``npm ci``
into pytest's cache (:func:`tungban.testing.npm.pinned_script`); nothing of it is shipped.
Use :func:`axe_source` once per test (a fixture does it), then :func:`assert_no_violations`
on each page state::

    source = axe_source(request, tmp_path_factory)
    assert_no_violations(page, source, "sign-in page (en, 390 px)")

The page's context should be made with ``bypass_csp=True``: the platform's pages allow only
their own scripts, and axe is injected.
"""

from __future__ import annotations

import json
from pathlib import Path

#: The rule sets checked: WCAG 2.0, 2.1 and 2.2, levels A and AA.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SOURCE = Path(__file__).resolve().parent / "axe"


def axe_source(request, tmp_path_factory) -> str:
    """The text of ``axe.min.js`` of the pinned axe-core (installed on first use)."""
    from tungban.testing.npm import pinned_script

    where = pinned_script(
        request,
        tmp_path_factory,
        SOURCE,
        "package.json",
        name="axe",
        installed="axe-core",
        purpose="The axe-core accessibility tests",
    ).parent
    return (where / "node_modules" / "axe-core" / "axe.min.js").read_text()


def violations(page, source: str) -> list[dict]:
    """axe-core's violations of :data:`TAGS` on ``page`` as it is now: ``[{"id", "impact",
    "help", "nodes": [selector, ...]}]``."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=source)
    found = page.evaluate(
        "async (tags) => (await axe.run(document, { runOnly: { type: 'tag', values: tags } })).violations"
        ".map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')) }))",
        TAGS,
    )
    return found


def assert_no_violations(page, source: str, what: str) -> None:
    """Fail, naming ``what`` and every violation, unless axe-core finds none."""
    found = violations(page, source)
    assert not found, f"axe-core violations on {what} ({page.url}):\n" + json.dumps(found, indent=1, ensure_ascii=False)
