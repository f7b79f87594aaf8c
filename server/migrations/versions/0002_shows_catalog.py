"""Shows and catalog: products, shows, show hosts, lineups.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("image_url", sa.String(2000), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("price >= 0", name="ck_products_price_not_negative"),
        sa.CheckConstraint("stock >= 0", name="ck_products_stock_not_negative"),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
        sa.UniqueConstraint("sku", name="uq_products_sku"),
    )
    op.create_table(
        "shows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("cover_url", sa.String(2000), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("stream_key", sa.String(64), nullable=False),
        sa.Column("scheduled_at", TS, nullable=True),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("pinned_product_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["pinned_product_id"], ["products.id"],
            name="fk_shows_pinned_product_id_products", ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_shows"),
        sa.UniqueConstraint("stream_key", name="uq_shows_stream_key"),
    )
    op.create_index("ix_shows_status", "shows", ["status"])
    op.create_table(
        "show_hosts",
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(40), nullable=False),
        sa.Column("display_name", sa.String(80), nullable=False),
        sa.ForeignKeyConstraint(
            ["show_id"], ["shows.id"], name="fk_show_hosts_show_id_shows", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_show_hosts_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("show_id", "user_id", name="pk_show_hosts"),
    )
    op.create_table(
        "show_lineup",
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("highlighted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["show_id"], ["shows.id"], name="fk_show_lineup_show_id_shows", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name="fk_show_lineup_product_id_products",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("show_id", "product_id", name="pk_show_lineup"),
    )
    op.create_index("ix_show_lineup_product_id", "show_lineup", ["product_id"])


def downgrade() -> None:
    op.drop_index("ix_show_lineup_product_id", table_name="show_lineup")
    op.drop_table("show_lineup")
    op.drop_table("show_hosts")
    op.drop_index("ix_shows_status", table_name="shows")
    op.drop_table("shows")
    op.drop_table("products")
