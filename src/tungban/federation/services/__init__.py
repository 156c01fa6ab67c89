"""Cross-boundary login's domain logic (issue 23), one module per part:

* :mod:`.entities` — hosted entities and their keys; entity configurations (§3.1.1), subordinate
  statements (§3.1.2), the fetch/list/resolve/trust-mark endpoints' answers (§8); enrolment and
  revocation of subordinates; pinned trust anchors.
* :mod:`.policy` — metadata policy: operators, combination down a chain, application (§6.1).
* :mod:`.chain` — trust chain resolution and verification (§10): :func:`.chain.resolve`.
* :mod:`.trustmarks` — trust marks: issue, verify, status (§7, §8.6).
* :mod:`.registration` — the OpenID provider's automatic registration of federation RPs (§12.1)
  and the cross-boundary consent: bindings, minimisation, releases with their legal basis.
* :mod:`.rp` — hosted services as relying parties of a partner's OpenID provider.
"""
