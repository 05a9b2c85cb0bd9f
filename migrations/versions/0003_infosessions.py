"""Information sessions: sessions and series, presenters, registrations, guest confirmations,
mails sent once, feedback, instruction requests, annual reports

Revision ID: 0003_infosessions
Revises: 0003_delivery
Create Date: 2026-11-22 15:42:42.778591

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_infosessions'
down_revision = '0003_delivery'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('info_session_annual_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('term', sa.String(length=20), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('queued', 'done', 'failed', name='annual_report_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_info_session_annual_reports_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_info_session_annual_reports'))
    )
    with op.batch_alter_table('info_session_annual_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_info_session_annual_reports_requested_by_id'), ['requested_by_id'], unique=False)

    op.create_table('info_session_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_info_session_series_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_info_session_series'))
    )
    op.create_table('info_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.JSON(), nullable=False),
    sa.Column('description', sa.JSON(), nullable=False),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('frames', sa.JSON(), nullable=False),
    sa.Column('format', sa.Enum('in_person', 'online', 'hybrid', name='session_format', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('online_url', sa.String(length=500), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('registration_opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('registration_closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_cutoff_hours', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('listed', sa.Boolean(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('check_in_code', sa.String(length=12), nullable=False),
    sa.Column('roster_closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('quiz_module_id', sa.Integer(), nullable=True),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('cancel_cutoff_hours >= 0', name=op.f('ck_info_sessions_cutoff_not_negative')),
    sa.CheckConstraint('capacity >= 1', name=op.f('ck_info_sessions_capacity_positive')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_info_sessions_ends_after_start')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_info_sessions_cohort_id_cohorts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_info_sessions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['quiz_module_id'], ['modules.id'], name=op.f('fk_info_sessions_quiz_module_id_modules'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['series_id'], ['info_session_series.id'], name=op.f('fk_info_sessions_series_id_info_session_series'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_info_sessions'))
    )
    with op.batch_alter_table('info_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_info_sessions_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_info_sessions_series_id'), ['series_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_info_sessions_starts_at'), ['starts_at'], unique=False)

    op.create_table('info_session_guest_confirmations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['info_sessions.id'], name=op.f('fk_info_session_guest_confirmations_session_id_info_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_info_session_guest_confirmations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_info_session_guest_confirmations_token_hash'))
    )
    with op.batch_alter_table('info_session_guest_confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_info_session_guest_confirmations_session_id'), ['session_id'], unique=False)

    op.create_table('info_session_presenters',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['info_sessions.id'], name=op.f('fk_info_session_presenters_session_id_info_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_info_session_presenters_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'user_id', name=op.f('pk_info_session_presenters'))
    )
    op.create_table('info_session_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('guest_email', sa.String(length=254), nullable=True),
    sa.Column('guest_name', sa.String(length=200), nullable=True),
    sa.Column('guest_token_hash', sa.String(length=64), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('status', sa.Enum('registered', 'waitlisted', 'cancelled', 'attended', 'no_show', name='registration_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('place', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('promoted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(user_id IS NULL) <> (guest_email IS NULL)', name=op.f('ck_info_session_registrations_user_or_guest')),
    sa.ForeignKeyConstraint(['session_id'], ['info_sessions.id'], name=op.f('fk_info_session_registrations_session_id_info_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_info_session_registrations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_info_session_registrations')),
    sa.UniqueConstraint('guest_token_hash', name=op.f('uq_info_session_registrations_guest_token_hash')),
    sa.UniqueConstraint('session_id', 'guest_email', name=op.f('uq_info_session_registrations_session_id_guest_email')),
    sa.UniqueConstraint('session_id', 'place', name=op.f('uq_info_session_registrations_session_id_place')),
    sa.UniqueConstraint('session_id', 'user_id', name=op.f('uq_info_session_registrations_session_id_user_id'))
    )
    with op.batch_alter_table('info_session_registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_info_session_registrations_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_info_session_registrations_user_id'), ['user_id'], unique=False)

    op.create_table('instruction_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('course', sa.String(length=200), nullable=False),
    sa.Column('topics', sa.Text(), nullable=False),
    sa.Column('preferred_dates', sa.Text(), nullable=False),
    sa.Column('students', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('format', sa.Enum('in_person', 'online', 'hybrid', name='session_format', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('requested', 'accepted', 'scheduled', 'declined', name='instruction_request_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('librarian_id', sa.Integer(), nullable=True),
    sa.Column('response', sa.Text(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('students >= 1', name=op.f('ck_instruction_requests_students_positive')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_instruction_requests_cohort_id_cohorts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['librarian_id'], ['users.id'], name=op.f('fk_instruction_requests_librarian_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_instruction_requests_requested_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['info_sessions.id'], name=op.f('fk_instruction_requests_session_id_info_sessions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instruction_requests'))
    )
    with op.batch_alter_table('instruction_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruction_requests_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instruction_requests_requested_by_id'), ['requested_by_id'], unique=False)

    op.create_table('info_session_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('useful', sa.Text(), nullable=False),
    sa.Column('comments', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rating >= 1 AND rating <= 5', name=op.f('ck_info_session_feedback_rating_range')),
    sa.ForeignKeyConstraint(['registration_id'], ['info_session_registrations.id'], name=op.f('fk_info_session_feedback_registration_id_info_session_registrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_info_session_feedback')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_info_session_feedback_registration_id'))
    )
    op.create_table('info_session_mails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['info_session_registrations.id'], name=op.f('fk_info_session_mails_registration_id_info_session_registrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_info_session_mails')),
    sa.UniqueConstraint('registration_id', 'kind', name=op.f('uq_info_session_mails_registration_id_kind'))
    )


def downgrade():
    op.drop_table('info_session_mails')
    op.drop_table('info_session_feedback')
    with op.batch_alter_table('instruction_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instruction_requests_requested_by_id'))
        batch_op.drop_index(batch_op.f('ix_instruction_requests_cohort_id'))

    op.drop_table('instruction_requests')
    with op.batch_alter_table('info_session_registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_info_session_registrations_user_id'))
        batch_op.drop_index(batch_op.f('ix_info_session_registrations_session_id'))

    op.drop_table('info_session_registrations')
    op.drop_table('info_session_presenters')
    with op.batch_alter_table('info_session_guest_confirmations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_info_session_guest_confirmations_session_id'))

    op.drop_table('info_session_guest_confirmations')
    with op.batch_alter_table('info_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_info_sessions_starts_at'))
        batch_op.drop_index(batch_op.f('ix_info_sessions_series_id'))
        batch_op.drop_index(batch_op.f('ix_info_sessions_cohort_id'))

    op.drop_table('info_sessions')
    op.drop_table('info_session_series')
    with op.batch_alter_table('info_session_annual_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_info_session_annual_reports_requested_by_id'))

    op.drop_table('info_session_annual_reports')
