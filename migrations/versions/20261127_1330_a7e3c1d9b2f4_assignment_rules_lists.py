"""Assignment rules: lists of sectors, topics and countries, a description; users.last_assigned_at.

A rule's single sector/topic/country becomes a one-item list (NULL, "any", becomes an empty
list). A rule now outlives a deleted user (ondelete SET NULL) so that the gap shows on the rules
page. Downgrade keeps the first value of each list.

Revision ID: a7e3c1d9b2f4
Revises: d4e8b1f0a7c2
Create Date: 2026-11-27 13:00:00

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


revision = 'a7e3c1d9b2f4'
down_revision = 'd4e8b1f0a7c2'
branch_labels = None
depends_on = None

FK = 'fk_assignment_rules_user_id_users'
LISTS = (('sector', 'sectors'), ('topic', 'topics'), ('country', 'countries'))


def _rules(*columns):
    return sa.table('assignment_rules', sa.column('id', sa.Integer), *columns)


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_assigned_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('assignment_rules', schema=None) as batch_op:
        for _, plural in LISTS:
            batch_op.add_column(sa.Column(plural, sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('description', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('created_at', sa.DateTime(timezone=True), nullable=True))

    # Copy each single value into its list through bound JSON parameters (same on both databases).
    old = _rules(*(sa.column(single, sa.String) for single, _ in LISTS))
    new = _rules(*(sa.column(plural, sa.JSON) for _, plural in LISTS),
                 sa.column('description', sa.String), sa.column('created_at', sa.DateTime(timezone=True)))
    conn = op.get_bind()
    now = datetime.now(UTC) if conn.dialect.name != 'sqlite' else datetime.now(UTC).replace(tzinfo=None)
    for row in conn.execute(sa.select(old)).mappings().all():
        values = {plural: [row[single]] if row[single] else [] for single, plural in LISTS}
        conn.execute(new.update().where(new.c.id == row['id'])
                     .values(**values, description='', created_at=now))

    with op.batch_alter_table('assignment_rules', schema=None) as batch_op:
        for single, plural in LISTS:
            batch_op.alter_column(plural, existing_type=sa.JSON(), nullable=False)
            batch_op.drop_column(single)
        batch_op.alter_column('description', existing_type=sa.String(length=200), nullable=False)
        batch_op.alter_column('created_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)
        batch_op.drop_constraint(FK, type_='foreignkey')
        batch_op.create_foreign_key(FK, 'users', ['user_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('assignment_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sector', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('topic', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('country', sa.String(length=2), nullable=True))

    conn = op.get_bind()
    conn.execute(sa.text('DELETE FROM assignment_rules WHERE user_id IS NULL'))
    lists = _rules(*(sa.column(plural, sa.JSON) for _, plural in LISTS))
    singles = _rules(*(sa.column(single, sa.String) for single, _ in LISTS))
    for row in conn.execute(sa.select(lists)).mappings().all():
        conn.execute(singles.update().where(singles.c.id == row['id']).values(
            **{single: (row[plural] or [None])[0] for single, plural in LISTS}))

    with op.batch_alter_table('assignment_rules', schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_='foreignkey')
        batch_op.create_foreign_key(FK, 'users', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('created_at')
        batch_op.drop_column('description')
        for _, plural in LISTS:
            batch_op.drop_column(plural)

    # Not batch mode: recreating `users` on SQLite would cascade its DROP TABLE to every child row.
    op.execute('ALTER TABLE users DROP COLUMN last_assigned_at')
