"""Reads for lots meetings. Contract used by the officers' work list:"""


def open_action_items_for_user(user) -> list:
    """The user's open action items from lots meetings, soonest due first."""
    return []
