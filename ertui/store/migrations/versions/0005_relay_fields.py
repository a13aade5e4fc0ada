"""relay: an MTA's rate limit (and its token bucket), EHLO name, AUTH
mechanism, PIPELINING and OAuth2 (XOAUTH2) settings

Every column has a server default (or is nullable), so the MTAs of an older
store keep working exactly as before: no limit, the master host name in EHLO,
the best AUTH method offered, PIPELINING where the server offers it.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = (
    "rate_limit_per_minute",
    "ehlo_name",
    "auth_mechanism",
    "pipelining",
    "oauth_token_url",
    "oauth_client_id",
    "oauth_scope",
    "oauth_secret_enc",
    "rate_tokens",
    "rate_refilled_at",
)


def upgrade() -> None:
    # Plain ADD COLUMN (no batch): on SQLite a batch may rebuild the table, and
    # the rebuilt table would lose its AUTOINCREMENT (revision 0003).
    add = op.add_column
    add("mta", sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False, server_default="0"))
    add("mta", sa.Column("ehlo_name", sa.String(length=253), nullable=True))
    add("mta", sa.Column("auth_mechanism", sa.String(length=16), nullable=False, server_default="auto"))
    add("mta", sa.Column("pipelining", sa.Boolean(), nullable=False, server_default=sa.true()))
    add("mta", sa.Column("oauth_token_url", sa.Text(), nullable=True))
    add("mta", sa.Column("oauth_client_id", sa.String(length=255), nullable=True))
    add("mta", sa.Column("oauth_scope", sa.Text(), nullable=True))
    add("mta", sa.Column("oauth_secret_enc", sa.Text(), nullable=True))
    add("mta", sa.Column("rate_tokens", sa.Float(), nullable=False, server_default="1"))
    add("mta", sa.Column("rate_refilled_at", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    for name in reversed(COLUMNS):  # (SQLite 3.35+ drops a column in place)
        op.drop_column("mta", name)
