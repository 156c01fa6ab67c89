"""The catalogue's cross-boundary facet leads to the cross-boundary login page (issue 23, part
frp): filtered on cross-boundary services, the catalogue links to ``/cross-boundary/`` (the
services that accept a partner platform's account), in both languages; unfiltered it does not."""

import pytest


@pytest.mark.parametrize("lang,words", [("en", "partner platform"), ("zh", "伙伴平台")])
def test_the_cross_boundary_facet_links_to_the_cross_boundary_services(client, catalogue, lang, words):
    client.cookies["tungban_language"] = "zh-hant" if lang == "zh" else "en"
    filtered = client.get("/services/", {"cross_boundary": "1"}).content.decode()
    assert 'id="cross-boundary-login"' in filtered and 'href="/cross-boundary/"' in filtered
    assert words in filtered
    assert client.get("/cross-boundary/").status_code == 200
    unfiltered = client.get("/services/").content.decode()
    assert 'id="cross-boundary-login"' not in unfiltered
