"""The one train / eval / test engine."""
