"""The store: SQLAlchemy models, Alembic migrations, SQLite by default, PostgreSQL by URL."""
