"""Durable state: SQLModel tables, the engine, migrations and the query functions the pipeline calls."""
