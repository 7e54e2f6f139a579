import Logging
import PostgresNIO

/// Creates and upgrades the store's tables, one numbered migration at a time, under a session advisory lock so
/// several instances starting together migrate once and the others wait, then see the new version.
///
/// Migrations are append-only: a released one is never edited, a change is a new entry.
struct SchemaMigrator {
    /// The advisory lock key for migrations (`"usher_mi"` as bytes).
    static let lockKey: Int64 = 0x7573_6865_725F_6D69

    /// Each migration is a list of statements (the extended protocol runs one statement per query).
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE usher_meta (
                id int PRIMARY KEY CHECK (id = 1), epoch text NOT NULL, latest_sequence bigint NOT NULL DEFAULT 0,
                lease_expiries bigint NOT NULL DEFAULT 0)
            """,
            "INSERT INTO usher_meta (id, epoch) VALUES (1, md5(random()::text || clock_timestamp()::text))",
            "CREATE SEQUENCE usher_grace_tickets",
            #"CREATE TABLE usher_nodes (node text COLLATE "C" PRIMARY KEY, lease_deadline bigint NOT NULL)"#,
            #"""
            CREATE TABLE usher_sockets (
                app text COLLATE "C", socket_id text COLLATE "C", node text COLLATE "C" NOT NULL,
                PRIMARY KEY (app, socket_id))
            """#,
            "CREATE INDEX usher_sockets_node ON usher_sockets (node)",
            #"""
            CREATE TABLE usher_subscriptions (
                app text COLLATE "C", socket_id text COLLATE "C", channel text COLLATE "C", user_id text COLLATE "C",
                position bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (app, socket_id, channel))
            """#,
            #"""
            CREATE TABLE usher_channels (
                app text COLLATE "C", channel text COLLATE "C", is_presence boolean NOT NULL,
                socket_count int NOT NULL, PRIMARY KEY (app, channel))
            """#,
            #"""
            CREATE TABLE usher_members (
                app text COLLATE "C", channel text COLLATE "C", user_id text COLLATE "C", user_info text,
                socket_count int NOT NULL, grace_deadline bigint, grace_ticket bigint,
                PRIMARY KEY (app, channel, user_id))
            """#,
            """
            CREATE INDEX usher_members_grace ON usher_members (grace_deadline, grace_ticket)
                WHERE grace_deadline IS NOT NULL
            """,
            """
            CREATE TABLE usher_events (
                sequence bigint PRIMARY KEY, kind text NOT NULL, app text NOT NULL, channel text, user_id text,
                user_info text, logged_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE TABLE usher_event_counts (kind text PRIMARY KEY, count bigint NOT NULL)",
        ],
        // 2: one webhook sender per app across instances, resuming where the previous owner got to; nodes that
        // became known through a join owe a snapshot at their next heartbeat.
        [
            #"""
            CREATE TABLE usher_webhook_claims (
                app text COLLATE "C" PRIMARY KEY, delivered_through bigint, owner text NOT NULL,
                lease_deadline bigint NOT NULL)
            """#,
            "ALTER TABLE usher_nodes ADD COLUMN must_resync boolean NOT NULL DEFAULT false",
        ],
        // 3: where each relay node's peers reach it (peer discovery through heartbeats).
        ["ALTER TABLE usher_nodes ADD COLUMN forward_url text"],
        // 4: each node's client connections per app, as its heartbeats report them (per-app connection quotas).
        ["ALTER TABLE usher_nodes ADD COLUMN connections jsonb"],
    ]

    let logger: Logger

    /// Applies every migration the database lacks; returns the schema version now in place.
    @discardableResult
    func migrate(on connection: PostgresConnection) async throws -> Int {
        try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
        do {
            let version = try await migrateLocked(on: connection)
            try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
            return version
        } catch {
            // The session lock dies with the connection; unlock anyway in case only a statement failed.
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
            throw error
        }
    }

    private func migrateLocked(on connection: PostgresConnection) async throws -> Int {
        try await connection.query(
            "CREATE TABLE IF NOT EXISTS usher_schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
            logger: logger)
        var current = 0
        for try await version in try await connection.query(
            "SELECT coalesce(max(version), 0) FROM usher_schema_migrations", logger: logger
        ).decode(Int.self) {
            current = version
        }
        for (index, statements) in Self.migrations.enumerated() where index + 1 > current {
            let version = index + 1
            try await connection.withTransaction(logger: logger) { transaction in
                for statement in statements {
                    try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await transaction.query(
                    "INSERT INTO usher_schema_migrations (version) VALUES (\(version))", logger: logger)
            }
            logger.info("migrated presence schema", metadata: ["usher.schema_version": "\(version)"])
            current = version
        }
        return current
    }
}
