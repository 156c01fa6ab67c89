"""A grant's cluster users (issue 20): the grantee names the scheduler (POSIX) users of its team
who may charge the award's Slurm account; :mod:`tungban.compute.services` keeps them on the
scheduler (``sacctmgr add user`` / ``remove user`` as background tasks).

The rules here are the scheme's, not the scheduler's:

* only the grantee's administrator acts: a person whose CorpID mandate covers ``sign`` in the
  scheme's e-service for the organisation (the same authority as the agreement, seed 000 §21),
  checked on every call;
* users are named only while the award is active (signed, not suspended, ended or lapsed): the
  subsidised capacity serves the approved project (seed 000 §13), so nobody is added to an
  account that is about to close;
* one cluster user belongs to one organisation: a name that is a live user of another
  organisation's account (or of a market-price account) is refused, so no grantee passes its
  subsidised GPU-minutes to another's team (seed 000 fn 6: the subsidised part serves the
  approved project only). Removing stays open while the account exists.
"""

from __future__ import annotations

from tungban.compute import services as compute
from tungban.corpid.services import authority

from .. import errors
from ..constants import AwardState
from ..models import Award
from . import awards


def require_administrator(resident, award: Award) -> None:
    """:raises DomainError: CorpID's refusals (``no_mandate``, ``mandate_revoked``, …) when
    ``resident`` may not ``sign`` for the award's organisation."""
    authority(resident, award.application.br_number, awards.SERVICE_SLUG, "sign")


def add(award: Award, resident, user: str):
    """Name ``user`` a cluster user of the award's account (:func:`tungban.compute.services.add_user`).

    :raises DomainError: the mandate's refusals; ``grant_not_signed`` (no account yet);
        ``grant_not_active`` (the award is not active); ``bad_user_name``,
        ``reserved_user_name``; ``cluster_user_of_another_organisation``; compute's
        ``user_exists``, ``too_many_users``, ``account_closed``. Nothing is written on an error."""
    require_administrator(resident, award)
    if not award.account:
        raise errors.GrantNotSigned()
    if award.state != AwardState.ACTIVE:
        raise errors.GrantNotActive(state=AwardState(award.state).label)
    user = compute.check_user_name((user or "").strip())
    others = [a for a in compute.accounts_of_user(user) if a != award.account]
    if others:
        own = set(
            Award.objects.filter(account__in=others, application__br_number=award.application.br_number).values_list(
                "account", flat=True
            )
        )
        if set(others) - own:
            raise errors.ClusterUserOfAnotherOrganisation(user=user)
    return compute.add_user(award.account, user, actor=f"resident:{resident.public_id}")


def remove(award: Award, resident, user: str):
    """Take ``user`` off the award's account (:func:`tungban.compute.services.remove_user`).

    :raises DomainError: the mandate's refusals; ``grant_not_signed``; compute's
        ``unknown_user``."""
    require_administrator(resident, award)
    if not award.account:
        raise errors.GrantNotSigned()
    return compute.remove_user(award.account, (user or "").strip(), actor=f"resident:{resident.public_id}")
