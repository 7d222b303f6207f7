"""Disposal (gallring) of personal data after the retention period. To be implemented."""
