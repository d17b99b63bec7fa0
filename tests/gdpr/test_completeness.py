"""Every column is classified, and every column holding a subject's data is exported and erased."""

from crm.extensions import db
from crm.gdpr.classification import COLUMNS, SUBJECT
from crm.gdpr.erasure import BLANKED_COLUMNS, DELETED_TABLES
from crm.gdpr.services import EXPORTED_COLUMNS


def schema_columns():
    return {f"{table.name}.{column.name}" for table in db.metadata.sorted_tables
            for column in table.columns}


def test_every_column_of_the_schema_is_classified(app):
    unclassified = schema_columns() - set(COLUMNS)
    assert not unclassified, f"classify these in crm/gdpr/classification.py: {sorted(unclassified)}"
    assert not set(COLUMNS) - schema_columns(), "classification names columns that do not exist"


def test_every_subject_column_is_exported_and_erased(app):
    subject = {name for name, kind in COLUMNS.items() if kind == SUBJECT}
    exported = {f"{table}.{column}" for table, columns in EXPORTED_COLUMNS.items()
                for column in columns}
    erased = {name for name in schema_columns() if name.split(".")[0] in DELETED_TABLES}
    erased |= set(BLANKED_COLUMNS)
    assert not subject - exported, f"not exported: {sorted(subject - exported)}"
    assert not subject - erased, f"not erased: {sorted(subject - erased)}"


def test_the_check_notices_an_unclassified_column(app):
    import sqlalchemy as sa

    table = sa.Table("probe_personal", db.metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("nickname", sa.String(50)))
    try:
        assert "probe_personal.nickname" in schema_columns() - set(COLUMNS)
    finally:
        db.metadata.remove(table)
