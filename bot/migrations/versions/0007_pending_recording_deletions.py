"""pending recording deletions: voicemail recordings still to delete at Twilio

When the retention purge or an erasure deletes a voicemail, the SID of its recording is kept
here, in the same transaction, until Twilio confirms the recording is deleted. Nothing else:
no resident, number, call or place.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "pending_recording_deletions",
        sa.Column("recording_sid", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("recording_sid", name=op.f("pk_pending_recording_deletions")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("pending_recording_deletions")
