"""Feeds in: fetching (conditional GET, caps, redirects), parsing with feedparser into
normalised entries, the parser pool, OPML, and when each feed is due again."""
