"""Bridges to other tools; each module imports its tool lazily (an optional extra)."""
