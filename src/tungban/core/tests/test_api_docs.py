import pytest


@pytest.mark.django_db
def test_openapi_document_served_with_error_shape(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in (
        "/api/v1/wallet/bindings",
        "/api/v1/wallet/registrations",
        "/api/v1/wallet/requests/{request_id}/decision",
        "/api/v1/wallet/history",
    ):
        assert path in paths, path
    decision = paths["/api/v1/wallet/requests/{request_id}/decision"]["post"]
    assert {"409", "410", "403"} <= set(decision["responses"])
    assert client.get("/api/v1/docs").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/app/", "/oidc/authorize"])
def test_pages_in_both_languages(client, path):
    en = client.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    zh = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-HK").content.decode()
    assert 'lang="en"' in en and 'lang="zh-Hant-HK"' in zh
    assert 'name="viewport"' in en
    assert en != zh


@pytest.mark.django_db
def test_openapi_documents_the_signing_api_for_services(client):
    doc = client.get("/api/v1/openapi.json").json()
    create = doc["paths"]["/api/v1/signing/requests"]["post"]
    assert create["security"] and {"201", "400", "401", "403", "413"} <= set(create["responses"])
    schemes = doc["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    assert "/api/v1/signing/requests/{request_id}" in doc["paths"]
    assert "/api/v1/signing/requests/{request_id}/documents/{index}" in doc["paths"]
