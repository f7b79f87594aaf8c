"""Chat: messages, per-show settings, blocked words, allowed link domains, sanctions,
moderation log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(80), nullable=False),
        sa.Column("nickname", sa.String(40), nullable=False),
        sa.Column("badges", sa.String(200), nullable=False),
        sa.Column("text", sa.String(1000), nullable=False),
        sa.Column("reply_to", sa.BigInteger(), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("shadow", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_messages"),
    )
    op.create_index("ix_chat_messages_show_id_id", "chat_messages", ["show_id", "id"])
    op.create_table(
        "chat_show_settings",
        sa.Column("show_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("slow_seconds", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("established_minutes", sa.Integer(), nullable=False),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("announcement", sa.Text(), nullable=True),
        sa.Column("highlighted", sa.Text(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("show_id", name="pk_chat_show_settings"),
    )
    op.create_table(
        "chat_blocked_words",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(50), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_blocked_words"),
        sa.UniqueConstraint("word", name="uq_chat_blocked_words_word"),
    )
    op.create_table(
        "chat_allowed_domains",
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("domain", name="pk_chat_allowed_domains"),
    )
    op.create_table(
        "chat_sanctions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("show_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("until", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("lifted_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_chat_sanctions"),
    )
    op.create_index(
        "ix_chat_sanctions_user_id_show_id", "chat_sanctions", ["user_id", "show_id"]
    )
    op.create_table(
        "chat_moderation_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("show_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.String(80), nullable=False),
        sa.Column("actor_name", sa.String(80), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("target_user_id", sa.String(80), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_moderation_log"),
    )
    op.create_index(
        "ix_chat_moderation_log_show_id_id", "chat_moderation_log", ["show_id", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_chat_moderation_log_show_id_id", table_name="chat_moderation_log")
    op.drop_table("chat_moderation_log")
    op.drop_index("ix_chat_sanctions_user_id_show_id", table_name="chat_sanctions")
    op.drop_table("chat_sanctions")
    op.drop_table("chat_allowed_domains")
    op.drop_table("chat_blocked_words")
    op.drop_table("chat_show_settings")
    op.drop_index("ix_chat_messages_show_id_id", table_name="chat_messages")
    op.drop_table("chat_messages")
