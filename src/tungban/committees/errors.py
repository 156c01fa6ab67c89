"""The committees' error codes (issue 20, part E), declared once. Each is refused before
anything is written, or inside the service's transaction, so nothing partial is stored."""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound

UnknownSubjectKind = NotFound.define("unknown_subject_kind", _("No kind of agenda item is called “%(kind)s”."))
SubjectDescription = DomainError.define(
    "subject_description", _("The description of a “%(kind)s” item lacks: %(keys)s."), status=500
)
NotMember = Forbidden.define("not_member", _("You are not a member of this committee."))
NotChair = Forbidden.define("not_chair", _("Only the chair or the secretary may do this."))
OwnConflict = Forbidden.define(
    "own_conflict",
    _("You cannot dismiss your own conflict of interest: another chair or the secretary decides on it."),
)
OutOfTerm = Forbidden.define("out_of_term", _("Your term on this committee has not begun or has ended."))
NoQuorum = Conflict.define(
    "no_quorum",
    _("Fewer members than the quorum (%(quorum)s) may take part in this item: %(eligible)s are not recused."),
)
MemberConflicted = Forbidden.define(
    "member_conflicted", _("You are recused from this item because of a conflict of interest.")
)
MeetingClosed = Conflict.define("meeting_closed", _("The meeting is closed: nothing more can be recorded."))
MeetingNotOpen = Conflict.define("meeting_not_open", _("The meeting has not been opened yet."))
MeetingTransition = Conflict.define("meeting_state", _("The meeting cannot go from “%(state)s” to “%(to)s”."))
AlreadyOnAgenda = Conflict.define("already_on_agenda", _("This subject is already on the meeting's agenda."))
AlreadyDecided = Conflict.define("already_decided", _("This item has already been decided."))
ScoreRange = DomainError.define("score_range", _("A score is a whole number from 0 to 10."), field="value")
UnknownCriterion = DomainError.define(
    "unknown_criterion", _("The committee has no criterion “%(code)s”."), field="criterion"
)
UnknownOutcome = DomainError.define("unknown_outcome", _("A decision is to approve, reject or defer."), field="outcome")
ReasonsRequired = DomainError.define(
    "reasons_required", _("Give the reasons for the decision in English and in Chinese."), field="reasons"
)
ConflictReal = Conflict.define(
    "conflict_real", _("A real conflict of interest cannot be dismissed: the member stays recused.")
)
ConflictResolved = Conflict.define("conflict_resolved", _("This conflict has already been resolved."))
DeclarationTarget = DomainError.define(
    "declaration_target",
    _("Name the organisation (its BR number) or the agenda item the interest is about."),
    field="organisation_brn",
)
#: ``reasons_required``'s text when the chair dismisses a conflict.
DISMISS_REASONS = _("Give the reasons for dismissing the conflict in English and in Chinese.")

# tcommittee
ItemWithdrawn = Conflict.define(
    "item_withdrawn", _("This item was withdrawn from the agenda: nothing more can be recorded.")
)
ScoresHidden = Forbidden.define(
    "scores_hidden", _("You see the other members' scores of this item once you have scored it or it is decided.")
)
