"""axe-core accessibility checks for end-to-end tests: the one helper every browser test uses.

The rule set is WCAG 2.0, 2.1 and 2.2, levels A and AA (:data:`TAGS`; issue 16 acceptance 3:
WCAG 2.1 AA, and 2.2 AA's additions). axe-core's source is the ``axe.min.js`` bundled in the
``axe-playwright-python`` test dependency (pyproject's ``test`` extra): nothing is installed at
test time and nothing of it is shipped. Call :func:`assert_no_violations` on each page state::

    from tungban.testing.a11y import assert_no_violations

    assert_no_violations(page, "sign-in page (en, 390 px)")

axe is injected with Playwright's ``page.evaluate`` (the DevTools protocol), which the pages'
Content-Security-Policy does not govern: contexts need no ``bypass_csp`` and no CSP violation
is reported. A frame's document (e.g. a mini-program's ``<iframe>``) is checked by axe with the
page when the frame allows it; cross-origin sandboxed frames are not reached.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

#: The rule sets checked: WCAG 2.0, 2.1 and 2.2, levels A and AA (axe-core tags).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@functools.cache
def axe_source() -> str:
    """The text of axe-core's ``axe.min.js`` as bundled in ``axe-playwright-python``."""
    return (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def violations(page) -> list[dict]:
    """axe-core's violations of :data:`TAGS` on ``page`` (a Playwright sync ``Page``) as it is
    now: ``[{"id", "impact", "help", "nodes": [selector, ...]}]``, empty when there are none."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    return page.evaluate(
        "async (tags) => (await axe.run(document, { runOnly: { type: 'tag', values: tags },"
        " resultTypes: ['violations'] })).violations"
        ".map(v => ({ id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')) }))",
        TAGS,
    )


def assert_no_violations(page, what: str) -> None:
    """Fail, naming ``what`` (the page and its state, e.g. ``"inbox (zh-HK, 200% zoom)"``), its
    URL and every violation with its nodes, unless axe-core finds none on ``page``."""
    found = violations(page)
    assert not found, f"axe-core violations on {what} ({page.url}):\n" + json.dumps(found, indent=1, ensure_ascii=False)
