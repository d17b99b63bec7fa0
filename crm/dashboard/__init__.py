"""The dashboard and the board's pipeline report (CONTRACT §5)."""
