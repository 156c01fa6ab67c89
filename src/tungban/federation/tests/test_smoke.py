from tungban.federation.services import chain


def test_service_chain_resolves(federation):
    found = chain.resolve(
        federation.service.entity_id,
        entity_type="openid_relying_party",
        required_trust_marks=[federation.mark_type_id],
        anchors=federation.anchors,
    )
    assert found.path == (federation.service.entity_id, federation.anchor.entity_id)
    assert len(found.statements) == 3
    assert found.metadata["openid_relying_party"]["token_endpoint_auth_method"] == "private_key_jwt"
    assert [m["trust_mark_type"] for m in found.trust_marks] == [federation.mark_type_id]
