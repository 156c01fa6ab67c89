"""The AI Subsidy Scheme's JSON API (issue 20), under ``/api/v1/subsidy/``; each part's router
is added here.

* public (:mod:`.api_public`): ``GET /scheme``, ``GET /statistics``;
* applicant organisations, a person with a CorpID mandate (:mod:`.api_applicant`):
  ``GET /organisations/{br_number}/applications``, ``GET /applications/{reference}``,
  ``GET /awards/{award_id}``;
* the secretariat's system, scope ``subsidy`` (:mod:`.api_secretariat`):
  ``GET /secretariat/queue``, ``POST /secretariat/applications/{reference}/complete``.
"""

from ninja import Router

router = Router(tags=["subsidy"])

# The JSON API for integrators (branch tapi)
from .api_applicant import router as applicant_router  # noqa: E402
from .api_public import router as public_router  # noqa: E402
from .api_secretariat import router as secretariat_router  # noqa: E402

router.add_router("/", public_router)
router.add_router("/", applicant_router)
router.add_router("/", secretariat_router)
