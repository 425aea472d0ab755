"""The one SQLAlchemy MetaData every table of the project is declared on.

Naming conventions keep constraint names stable across SQLite and PostgreSQL, which Alembic needs for
batch (copy-and-move) migrations on SQLite.
"""

from sqlalchemy import MetaData

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)
