"""Read-only queries of staff accounts."""

import sqlalchemy as sa

from crm.extensions import db
from crm.staff.models import User


def staff_list():
    return db.session.scalars(sa.select(User).order_by(User.active.desc(), User.name, User.id)).all()


def staff_member(user_id):
    """The account with `user_id`, or None (also for ids that are not integers)."""
    return db.session.get(User, user_id) if isinstance(user_id, int) else None


def assignable_staff():
    """Active staff who have set a password, for the assignee choice."""
    return db.session.scalars(
        sa.select(User).where(User.active.is_(True), User.password_hash.is_not(None))
        .order_by(User.name, User.id)
    ).all()
