"""The sample domain's protocol names."""

#: Approval kind: the resident pledges a text; the signed decision binds ``pledge`` (its
#: SHA-256, lowercase hex), so a signature over another text is refused.
PLEDGE_KIND = "sampledomain.pledge"
#: OAuth scope releasing the resident's sample membership number (claim ``sample_member_no``).
MEMBERSHIP_SCOPE = "sample_membership"
MEMBER_NO_CLAIM = "sample_member_no"
