"""The store: SQLAlchemy models, Alembic migrations, SQLite by default, PostgreSQL by URL."""

from andon.store.repo import Store as Store
