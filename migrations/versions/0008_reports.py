"""Reports: snapshots of each report (kept up to date as attempts are finished) and the report
PDFs rendered in the background

Revision ID: 0008_reports
Revises: 0007_lti
Create Date: 2026-11-22 16:05:28.707280

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_reports'
down_revision = '0007_lti'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=True),
    sa.Column('module_id', sa.Integer(), nullable=True),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('computed_revision', sa.Integer(), nullable=True),
    sa.Column('document', sa.JSON(), nullable=True),
    sa.Column('labels', sa.JSON(), nullable=True),
    sa.Column('students', sa.JSON(), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_report_snapshots_assignment_id_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], name=op.f('fk_report_snapshots_module_id_modules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_snapshots')),
    sa.UniqueConstraint('assignment_id', name=op.f('uq_report_snapshots_assignment_id')),
    sa.UniqueConstraint('scope', name=op.f('uq_report_snapshots_scope'))
    )
    with op.batch_alter_table('report_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_snapshots_module_id'), ['module_id'], unique=False)

    op.create_table('report_pdfs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('appendix', sa.Enum('none', 'names', 'pseudonyms', name='report_appendix', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('status', sa.Enum('queued', 'rendering', 'done', 'failed', name='report_pdf_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('snapshot_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_report_pdfs_requested_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['snapshot_id'], ['report_snapshots.id'], name=op.f('fk_report_pdfs_snapshot_id_report_snapshots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_pdfs'))
    )
    with op.batch_alter_table('report_pdfs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_pdfs_requested_by_id'), ['requested_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_pdfs_snapshot_id'), ['snapshot_id'], unique=False)



def downgrade():
    with op.batch_alter_table('report_pdfs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_pdfs_snapshot_id'))
        batch_op.drop_index(batch_op.f('ix_report_pdfs_requested_by_id'))

    op.drop_table('report_pdfs')
    with op.batch_alter_table('report_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_snapshots_module_id'))

    op.drop_table('report_snapshots')
