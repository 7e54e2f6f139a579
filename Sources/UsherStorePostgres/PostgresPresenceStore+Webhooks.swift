import PostgresNIO
public import UsherCore

extension PostgresPresenceStore {
    /// The database clock in milliseconds, as the claim statements compare it.
    private static let nowMillis = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

    /// One statement: insert the claim, or take it over when it is ours or its lease has lapsed; no row comes back
    /// while another owner's lease is live, so two instances can never both hold it.
    public func claimWebhooks(app: String, owner: String, leaseMillis: Int64) async throws -> WebhookClaim? {
        try await read { connection, logger in
            var query = PostgresQuery(
                unsafeSQL: """
                    INSERT INTO usher_webhook_claims AS c (app, delivered_through, owner, lease_deadline)
                    VALUES ($1, NULL, $2, \(Self.nowMillis) + $3)
                    ON CONFLICT (app) DO UPDATE SET owner = EXCLUDED.owner, lease_deadline = EXCLUDED.lease_deadline
                    WHERE c.owner = EXCLUDED.owner OR c.lease_deadline < \(Self.nowMillis)
                    RETURNING c.delivered_through
                    """)
            query.binds.append(app, context: .default)
            query.binds.append(owner, context: .default)
            query.binds.append(leaseMillis, context: .default)
            let rows = try await connection.rows(query, logger: logger) { try $0.decode(Int64?.self) }
            return rows.first.map { WebhookClaim(deliveredThrough: $0.map { UInt64($0) }) }
        }
    }

    public func recordWebhooks(app: String, owner: String, deliveredThrough sequence: UInt64, leaseMillis: Int64) async throws -> Bool {
        try await read { connection, logger in
            var query = PostgresQuery(
                unsafeSQL: """
                    UPDATE usher_webhook_claims SET delivered_through = $1, lease_deadline = \(Self.nowMillis) + $2
                    WHERE app = $3 AND owner = $4 RETURNING 1
                    """)
            query.binds.append(Int64(clamping: sequence), context: .default)
            query.binds.append(leaseMillis, context: .default)
            query.binds.append(app, context: .default)
            query.binds.append(owner, context: .default)
            return try await connection.returnsRow(query, logger: logger)
        }
    }
}
