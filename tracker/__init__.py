"""tracker: news about clean-energy and climate commitments, turned into statuses and alerts."""

__version__ = "0.1.0"
