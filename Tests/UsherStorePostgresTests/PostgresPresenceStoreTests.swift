// Tests for PostgresPresenceStore against a real PostgreSQL (issue #7).
