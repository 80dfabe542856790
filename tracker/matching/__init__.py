"""Entries to matches: the rule-file format and its strict loader, text normalisation,
the matcher, and the signals read from what matched."""
