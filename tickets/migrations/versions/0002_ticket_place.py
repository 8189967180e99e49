"""Where a reported problem is: Open311 requests carry a position, an address and a photo link.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One JSON column (lat, long, address, address_id, media_url): most tickets have none of it.
    op.add_column("tickets", sa.Column("place", sa.JSON(), nullable=True))


def downgrade() -> None:
    # Plain ALTER (SQLite 3.35+ drops columns): rebuilding the table would lose its triggers.
    op.drop_column("tickets", "place")
