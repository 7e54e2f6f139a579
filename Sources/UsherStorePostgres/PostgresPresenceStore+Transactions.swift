import Logging
import PostgresNIO
import UsherCore

/// An event about to be logged, as its row holds it.
struct PendingEvent: Sendable {
    let kind: StreamEvent.Kind
    let app: String
    let channel: String?
    let userID: String?
    let userInfo: String?

    init(kind: StreamEvent.Kind, app: String, channel: String?, userID: String?, userInfo: String?) {
        self.kind = kind
        self.app = app
        self.channel = channel
        self.userID = userID
        self.userInfo = userInfo
    }

    init(_ event: PresenceEvent) {
        self.init(
            kind: StreamEvent.Kind(event), app: event.app, channel: event.channel, userID: event.userID,
            userInfo: event.userInfoJSON)
    }
}

extension PostgresPresenceStore {
    /// Runs `operation` against the database within the operation timeout; fails at once with
    /// ``PostgresStoreError/unavailable`` while the database is known to be down, and maps every database error to it
    /// (details go to the log, never to the caller).
    func available<Result: Sendable>(_ operation: @escaping @Sendable () async throws -> Result) async throws(
        PostgresStoreError
    ) -> Result {
        try await waitUntilUp()
        do {
            return try await withTimeout(configuration.operationTimeout, operation)
        } catch let error as PostgresStoreError {
            throw error
        } catch {
            logger.warning("presence database call failed", metadata: ["usher.error": "\(String(reflecting: error))"])
            throw .unavailable
        }
    }

    /// Lets requests through once the store has connected, waiting for that at start-up.
    private func waitUntilUp() async throws(PostgresStoreError) {
        let deadline = ContinuousClock.now + configuration.operationTimeout
        while true {
            switch health {
            case .up: return
            case .down: throw .unavailable
            case .starting:
                guard ContinuousClock.now < deadline else { throw .unavailable }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Runs `body` in a transaction holding the write lock (renewing the `nodes`' leases in the same statement), logs
    /// the events it collected plus `extra`, and wakes this instance's readers after the commit.
    /// `newNodeMustResync`: a node this call makes known owes a full snapshot at its next heartbeat (joins; not
    /// heartbeats and snapshots themselves).
    func write<Result: Sendable>(
        renewing nodes: [NodeID] = [], newNodeMustResync: Bool = true, extra: [PendingEvent] = [],
        _ body: @escaping @Sendable (inout PresenceTransaction) async throws -> Result
    ) async throws(PostgresStoreError) -> Result {
        let (result, latest, counted) = try await available { [self] in
            try await client.withTransaction(logger: logger) { connection in
                let (now, known) = try await lock(connection, renewing: nodes, newNodeMustResync: newNodeMustResync)
                var transaction = PresenceTransaction(
                    connection: connection, logger: logger, now: now, configuration: configuration.presence,
                    nodeWasKnown: known)
                let result = try await body(&transaction)
                // Past the operation timeout the caller already answered 503: roll back so that 503 always means
                // "not applied" (a query already answered would otherwise let COMMIT run).
                try Task.checkCancellation()
                let pending = transaction.takeEvents() + extra
                let latest = try await PresenceGroup.write(.init(), logging: pending, connection: connection, logger: logger)
                return (result, latest ?? transaction.loggedThrough, transaction.countChanges)
            }
        }
        if let latest { notifier.advance(to: latest) }
        if !counted.isEmpty { countChanges.withLock { $0.formUnion(counted) } }
        return result
    }

    /// Takes the write lock for the rest of the transaction, reads the shared clock and renews the `nodes`' leases, in
    /// one round trip; returns the clock and whether every node already held a lease (live, or lapsed but not yet
    /// swept; false when none was renewed).
    private func lock(_ connection: PostgresConnection, renewing nodes: [NodeID], newNodeMustResync: Bool) async throws -> (Int64, Bool) {
        // Deduplicated: one statement may not update a row twice.
        let statement = LockStatement(
            now: now?(), leaseMillis: configuration.presence.leaseMillis, nodes: Array(Set(nodes.map(\.description))),
            newNodeMustResync: newNodeMustResync)
        let rows = try await connection.rows(statement, logger: logger) { try $0.decode((Int64, Bool).self) }
        guard let row = rows.first else { throw PostgresStoreError.corruptRow }
        return row
    }

    /// `lock(_:renewing:newNodeMustResync:)`'s statement; `now` is the clock tests inject, nil for the database's.
    struct LockStatement: PreparedQuery {
        static let sql = LockStatement(now: nil, leaseMillis: 0, nodes: [], newNodeMustResync: false).query.sql
        let query: PostgresQuery

        init(now injected: Int64?, leaseMillis: Int64, nodes: [String], newNodeMustResync: Bool) {
            query = """
                WITH locked AS (
                    SELECT coalesce(\(injected)::bigint, \(unescaped: PostgresPresenceStore.databaseClock)) AS now
                    FROM (SELECT pg_advisory_xact_lock(\(PostgresPresenceStore.writeLockKey))) AS lock),
                renewed AS (
                    INSERT INTO usher_nodes (node, lease_deadline, must_resync)
                    SELECT n.node, now + \(leaseMillis), \(newNodeMustResync)
                    FROM locked, unnest(\(nodes)::text[]) AS n(node)
                    ON CONFLICT (node) DO UPDATE SET lease_deadline = excluded.lease_deadline
                    RETURNING xmax = 0 AS inserted)
                SELECT now, coalesce((SELECT bool_and(NOT inserted) FROM renewed), false) FROM locked
                """
        }
    }
}
