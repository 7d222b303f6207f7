"""Satisfaction surveys after closing (Insikt). Contract used by the case transitions:"""


def feedback_invite(*, case) -> None:
    """Called inside the transaction that closes `case`: invite the company to rate the
    service (unless held back for Insikt areas). To be implemented by the insights work."""
