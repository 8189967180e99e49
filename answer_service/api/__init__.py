"""HTTP layer of the answer service."""
