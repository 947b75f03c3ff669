"""PostgreSQL access: the asyncpg pool and the migration runner."""
