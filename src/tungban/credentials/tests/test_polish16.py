"""Issue 16, polish16 item 10: no internal jargon among an officer's facts about a credential."""

import re

from tungban.credentials.tests.test_pages import _en, swd_client  # noqa: F401


def test_status_list_position_is_not_among_the_facts(swd_client, senior_card):  # noqa: F811
    html = _en(swd_client).get(f"/staff/credentials/{senior_card.id}").content.decode()
    facts = re.search(r'<dl class="facts".*?</dl>', html, re.S).group(0)
    assert "Status list position" not in facts
    # Still there for support staff, folded away under "Technical details".
    details = re.search(r"<details[^>]*>.*?</details>", html, re.S).group(0)
    assert "Technical details" in details and "Status list position" in details
