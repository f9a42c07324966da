"""Durable state: SQLAlchemy 2 tables, the engine, and Alembic migrations run at start."""
