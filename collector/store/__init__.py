"""The store: SQLAlchemy models, engine, migrations and the queries every job uses. SQL lives here."""
