"""digestbot: a news corpus in SQLite, served as Discord lookups and scheduled digests."""

__version__ = "0.1.0"
