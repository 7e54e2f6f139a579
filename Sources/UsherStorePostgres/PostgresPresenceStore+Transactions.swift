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
        let kind: StreamEvent.Kind =
            switch event.kind {
            case .memberAdded: .memberAdded
            case .memberRemoved: .memberRemoved
            case .channelOccupied: .channelOccupied
            case .channelVacated: .channelVacated
            }
        self.init(
            kind: kind, app: event.app, channel: event.channel, userID: event.userID,
            userInfo: event.userInfo?.jsonText)
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
        let (result, latest) = try await available { [self] in
            try await client.withTransaction(logger: logger) { connection in
                let (now, known) = try await lock(connection, renewing: nodes, newNodeMustResync: newNodeMustResync)
                var transaction = PresenceTransaction(
                    connection: connection, logger: logger, now: now, configuration: configuration.presence,
                    nodeWasKnown: known)
                let result = try await body(&transaction)
                // Past the operation timeout the caller already answered 503: roll back so that 503 always means
                // "not applied" (a query already answered would otherwise let COMMIT run).
                try Task.checkCancellation()
                let latest = try await append(transaction.events.map(PendingEvent.init) + extra, on: connection)
                return (result, latest)
            }
        }
        if let latest { notifier.advance(to: latest) }
        return result
    }

    /// Takes the write lock for the rest of the transaction, reads the shared clock and renews the `nodes`' leases, in
    /// one round trip; returns the clock and whether every node already held a lease (live, or lapsed but not yet
    /// swept; false when none was renewed).
    private func lock(_ connection: PostgresConnection, renewing nodes: [NodeID], newNodeMustResync: Bool) async throws -> (Int64, Bool) {
        let injected = now?()
        // Deduplicated: one statement may not update a row twice.
        let names = Array(Set(nodes.map(\.description)))
        let rows = try await connection.rows(
            """
            WITH locked AS (
                SELECT coalesce(\(injected)::bigint, \(unescaped: Self.databaseClock)) AS now
                FROM (SELECT pg_advisory_xact_lock(\(Self.writeLockKey))) AS lock),
            renewed AS (
                INSERT INTO usher_nodes (node, lease_deadline, must_resync)
                SELECT n.node, now + \(configuration.presence.leaseMillis), \(newNodeMustResync)
                FROM locked, unnest(\(names)::text[]) AS n(node)
                ON CONFLICT (node) DO UPDATE SET lease_deadline = excluded.lease_deadline
                RETURNING xmax = 0 AS inserted)
            SELECT now, coalesce((SELECT bool_and(NOT inserted) FROM renewed), false) FROM locked
            """, logger: logger
        ) { try $0.decode((Int64, Bool).self) }
        guard let row = rows.first else { throw PostgresStoreError.corruptRow }
        return row
    }

    /// Numbers and inserts `events`, counts them by kind and notifies every instance, in one statement (it runs
    /// under the write lock, so its round trips are everyone's); returns the new latest sequence.
    ///
    /// The events go as five arrays, so a group's thousands of events stay within one statement's bind limit.
    private func append(_ events: [PendingEvent], on connection: PostgresConnection) async throws -> UInt64? {
        guard !events.isEmpty else { return nil }
        // '' stands for NULL: never a channel name, user id or user_info text.
        let latest = try await connection.rows(
            """
            WITH bumped AS (
                UPDATE usher_meta SET latest_sequence = latest_sequence + \(Int64(events.count))
                RETURNING latest_sequence, pg_notify(\(Self.notifyChannel), latest_sequence::text)::text AS notified),
            logged AS (
                INSERT INTO usher_events (sequence, kind, app, channel, user_id, user_info)
                SELECT bumped.latest_sequence - \(Int64(events.count)) + v.ordinal, v.kind, v.app, nullif(v.channel, ''),
                    nullif(v.user_id, ''), nullif(v.user_info, '')
                FROM bumped, unnest(\(events.map(\.kind.rawValue))::text[], \(events.map(\.app))::text[],
                    \(events.map { $0.channel ?? "" })::text[], \(events.map { $0.userID ?? "" })::text[],
                    \(events.map { $0.userInfo ?? "" })::text[]) WITH ORDINALITY AS v (kind, app, channel, user_id, user_info, ordinal)
                RETURNING kind),
            counted AS (
                INSERT INTO usher_event_counts (kind, count) SELECT kind, count(*) FROM logged GROUP BY kind
                ON CONFLICT (kind) DO UPDATE SET count = usher_event_counts.count + excluded.count)
            SELECT latest_sequence FROM bumped
            """, logger: logger
        ) { try $0.decode(Int64.self) }.first
        guard let latest else { throw PostgresStoreError.corruptRow }
        return UInt64(latest)
    }
}
