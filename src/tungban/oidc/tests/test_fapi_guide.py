"""Issue 13 item 22: the integrator's guide's FAPI 2.0 example (docs/integrators.md §5a)
works as written: its Python block runs against the platform with the key file the demo
writes; only the issuer, the file's path and the human steps (``input``) are substituted."""

import re
from pathlib import Path

import pytest

from tungban.setup import demo
from tungban.testing.factories import PIN, bind_cli, complete_authorization

pytestmark = pytest.mark.django_db
GUIDE = Path(__file__).resolve().parents[4] / "docs" / "integrators.md"


def _example() -> str:
    section = GUIDE.read_text().split("## 5a. FAPI 2.0", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_guide_fapi_example_runs(issuer, resident, app_home, tmp_path):
    demo.register_fapi_bank(tmp_path)
    app = bind_cli(issuer, resident, app_home)
    code = _example()
    assert '"http://localhost:8000"' in code and '"var/demo-bank-fapi.json"' in code
    code = code.replace('"http://localhost:8000"', repr(issuer)).replace(
        '"var/demo-bank-fapi.json"', repr(str(tmp_path / "demo-bank-fapi.json"))
    )
    printed = []

    def browser_and_app(prompt=""):  # the resident opens the printed URL and approves in the app
        import requests

        url = printed[-1][-1]
        browser = requests.Session()
        rid = re.search(r"/app/approve/([0-9a-f-]{36})", browser.get(url).text).group(1)
        app.decide(rid, PIN, "approve")
        return complete_authorization(browser, issuer, rid).headers["Location"]

    namespace = {"__name__": "guide_example", "input": browser_and_app, "print": lambda *a: printed.append(a)}
    exec(compile(code, str(GUIDE), "exec"), namespace)  # noqa: S102 - the guide's own example
    assert printed[1][0]["name"] == "Tai Man CHAN" and printed[2][0]["sub"] == printed[1][0]["sub"]
    assert namespace["tokens"]["token_type"] == "DPoP"
