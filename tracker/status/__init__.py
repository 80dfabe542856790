"""Matches to statuses: pure derivation (evidence, deadlines, metrics), a commitment's
recorded changes and the alerts they cause, and the review views built on them
(status table, card, digest, export, backfill)."""
