"""Services own the data rules. They take a Session first, flush but never commit."""
