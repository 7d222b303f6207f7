"""What officers do to a case: one function per transition, in a module per kind
(ownership, transfers, areas, contributions, messages, closing; the shared rules in _shared).

Every function is transactional, locks the case row (`select_for_update`), checks permissions
through `cases.permissions`, consults `TRANSITIONS` (the one table of allowed status changes),
records a CaseEvent and queues e-mail through the outbox (sent after commit).

Illegal transitions raise `ValidationError` with a Swedish message and change nothing; actions
outside one's role raise `PermissionDenied`.
"""

from cases.services.work._shared import TRANSITIONS, Unchanged, allowed_actions, next_status
from cases.services.work.areas import case_change_areas
from cases.services.work.closing import case_close, case_reopen
from cases.services.work.contributions import (
    ContributionRequest,
    case_claim_contribution,
    case_contribute,
    case_request_contribution,
)
from cases.services.work.messages import case_add_note, case_reply, case_wait_for_company
from cases.services.work.ownership import case_assign, case_claim
from cases.services.work.transfers import (
    case_transfer_accept,
    case_transfer_decline,
    case_transfer_offer,
)

__all__ = [
    "TRANSITIONS",
    "ContributionRequest",
    "Unchanged",
    "allowed_actions",
    "case_add_note",
    "case_assign",
    "case_change_areas",
    "case_claim",
    "case_claim_contribution",
    "case_close",
    "case_contribute",
    "case_reopen",
    "case_reply",
    "case_request_contribution",
    "case_transfer_accept",
    "case_transfer_decline",
    "case_transfer_offer",
    "case_wait_for_company",
    "next_status",
]
