"""Info session tests: the cohort that delivers a session's pre/post test, and a window of its
own for each phase of a quiz (the pre-test closes when the session starts, the post-test opens
when it ends)

Revision ID: 0009_session_quizzes
Revises: 0008_reports
Create Date: 2026-11-22 19:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_session_quizzes'
down_revision = '0008_reports'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('quizzes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('info_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quiz_cohort_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_info_sessions_quiz_cohort_id'), ['quiz_cohort_id'])
        batch_op.create_foreign_key(batch_op.f('fk_info_sessions_quiz_cohort_id_cohorts'), 'cohorts', ['quiz_cohort_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('info_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_info_sessions_quiz_cohort_id_cohorts'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_info_sessions_quiz_cohort_id'), type_='unique')
        batch_op.drop_column('quiz_cohort_id')

    with op.batch_alter_table('quizzes', schema=None) as batch_op:
        batch_op.drop_column('closes_at')
        batch_op.drop_column('opens_at')
