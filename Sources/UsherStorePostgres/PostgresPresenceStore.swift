// PostgreSQL-backed presence store (issue #7): shared by several `usher serve` instances.
