"""repo_groups, group_members and the group_membership view: groups defined by a topic, an organisation,
a user or a search

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

A rule group's members change as GitHub changes: discovery records the day each repository joined and
the day it left, and never deletes a member or its history. `group_membership` is the documented view
for SQL users: one row per group and repository, with the repository's current name.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GROUP_MEMBERSHIP = """
CREATE VIEW group_membership AS
SELECT m.group_name AS group_name,
       r.full_name AS repo,
       m.repo_id AS repo_id,
       g.kind AS rule_kind,
       g.value AS rule_value,
       m.joined_on AS joined_on,
       m.left_on AS left_on,
       m.fixed AS fixed
FROM group_members m
JOIN repo_groups g ON g.name = m.group_name
JOIN repositories r ON r.id = m.repo_id
"""


def upgrade() -> None:
    op.create_table(
        "repo_groups",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("min_stars", sa.Integer(), nullable=False),
        sa.Column("include_forks", sa.Boolean(), nullable=False),
        sa.Column("include_archived", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("defined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("found", sa.Integer(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_repo_groups")),
    )
    op.create_table(
        "group_members",
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("fixed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_name"],
            ["repo_groups.name"],
            name=op.f("fk_group_members_group_name_repo_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repositories.id"],
            name=op.f("fk_group_members_repo_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_name", "repo_id", name=op.f("pk_group_members")),
    )
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_members_repo_id"), ["repo_id"], unique=False)
    op.execute(GROUP_MEMBERSHIP)


def downgrade() -> None:
    op.execute("DROP VIEW group_membership")
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_members_repo_id"))
    op.drop_table("group_members")
    op.drop_table("repo_groups")
