"""initial store: repositories, snapshots, reconstructed history, runs, checkpoints, HTTP cache, leases

Revision ID: 0001
Revises:
Create Date: 2026-11-27 02:24:12.185720
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calendar',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('month_start', sa.Date(), nullable=False),
    sa.Column('quarter_start', sa.Date(), nullable=False),
    sa.Column('year_start', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar'))
    )
    with op.batch_alter_table('calendar', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_week_start'), ['week_start'], unique=False)

    op.create_table('http_cache',
    sa.Column('token_key', sa.String(length=64), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('etag', sa.Text(), nullable=True),
    sa.Column('last_modified', sa.Text(), nullable=True),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('headers', sa.Text(), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token_key', 'url', name=op.f('pk_http_cache'))
    )
    op.create_table('repositories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('github_id', sa.BigInteger(), nullable=True),
    sa.Column('node_id', sa.Text(), nullable=True),
    sa.Column('full_name', sa.Text(), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('primary_language', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('default_branch', sa.Text(), nullable=True),
    sa.Column('tracked', sa.Boolean(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('gone_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repositories')),
    sa.UniqueConstraint('github_id', name=op.f('uq_repositories_github_id')),
    sa.UniqueConstraint('name_key', name=op.f('uq_repositories_name_key'))
    )
    op.create_table('runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('worker', sa.Text(), nullable=True),
    sa.Column('stats', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs'))
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index('ix_runs_job_started_at', ['job', 'started_at'], unique=False)

    op.create_table('token_budgets',
    sa.Column('token_key', sa.String(length=64), nullable=False),
    sa.Column('resource', sa.String(length=30), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('limit', sa.Integer(), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('reset_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token_key', 'resource', name=op.f('pk_token_budgets'))
    )
    op.create_table('contributor_identities',
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('identity', sa.String(length=80), nullable=False),
    sa.Column('first_commit_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], name=op.f('fk_contributor_identities_repo_id_repositories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('repo_id', 'identity', name=op.f('pk_contributor_identities'))
    )
    op.create_table('forks',
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('fork_github_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], name=op.f('fk_forks_repo_id_repositories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('repo_id', 'fork_github_id', name=op.f('pk_forks'))
    )
    op.create_table('history_daily',
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=20), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], name=op.f('fk_history_daily_repo_id_repositories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('repo_id', 'metric', 'day', name=op.f('pk_history_daily'))
    )
    op.create_table('history_weekly',
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=20), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], name=op.f('fk_history_weekly_repo_id_repositories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('repo_id', 'metric', 'week_start', name=op.f('pk_history_weekly'))
    )
    op.create_table('leases',
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('holder', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cycle', sa.Text(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], name=op.f('fk_leases_repo_id_repositories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job', 'repo_id', name=op.f('pk_leases'))
    )
    op.create_table('repo_aliases',
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('full_name', sa.Text(), nullable=False),
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], name=op.f('fk_repo_aliases_repo_id_repositories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('name_key', name=op.f('pk_repo_aliases'))
    )
    with op.batch_alter_table('repo_aliases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repo_aliases_repo_id'), ['repo_id'], unique=False)

    op.create_table('run_items',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error_kind', sa.Text(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], name=op.f('fk_run_items_repo_id_repositories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_run_items_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'repo_id', 'job', name=op.f('pk_run_items'))
    )
    with op.batch_alter_table('run_items', schema=None) as batch_op:
        batch_op.create_index('ix_run_items_repo_id_job_finished_at', ['repo_id', 'job', 'finished_at'], unique=False)

    op.create_table('series_state',
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('series', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('cursor', sa.Text(), nullable=True),
    sa.Column('covered_from', sa.Date(), nullable=True),
    sa.Column('covered_to', sa.Date(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], name=op.f('fk_series_state_repo_id_repositories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('repo_id', 'series', name=op.f('pk_series_state'))
    )
    op.create_table('snapshots',
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('observed_day', sa.Date(), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stars', sa.Integer(), nullable=False),
    sa.Column('forks', sa.Integer(), nullable=False),
    sa.Column('watchers', sa.Integer(), nullable=False),
    sa.Column('open_issues', sa.Integer(), nullable=False),
    sa.Column('contributors', sa.Integer(), nullable=True),
    sa.Column('commits_52w', sa.Integer(), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], name=op.f('fk_snapshots_repo_id_repositories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_snapshots_run_id_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('repo_id', 'observed_day', name=op.f('pk_snapshots'))
    )


def downgrade() -> None:
    op.drop_table('snapshots')
    op.drop_table('series_state')
    with op.batch_alter_table('run_items', schema=None) as batch_op:
        batch_op.drop_index('ix_run_items_repo_id_job_finished_at')

    op.drop_table('run_items')
    with op.batch_alter_table('repo_aliases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repo_aliases_repo_id'))

    op.drop_table('repo_aliases')
    op.drop_table('leases')
    op.drop_table('history_weekly')
    op.drop_table('history_daily')
    op.drop_table('forks')
    op.drop_table('contributor_identities')
    op.drop_table('token_budgets')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index('ix_runs_job_started_at')

    op.drop_table('runs')
    op.drop_table('repositories')
    op.drop_table('http_cache')
    with op.batch_alter_table('calendar', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_week_start'))

    op.drop_table('calendar')
