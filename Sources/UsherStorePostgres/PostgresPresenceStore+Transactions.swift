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

    /// Runs `body` in a transaction holding the write lock, logs the events it collected plus `extra`, and wakes this
    /// instance's readers after the commit.
    func write<Result: Sendable>(
        extra: [PendingEvent] = [],
        _ body: @escaping @Sendable (inout PresenceTransaction) async throws -> Result
    ) async throws(PostgresStoreError) -> Result {
        let (result, latest) = try await available { [self] in
            try await client.withTransaction(logger: logger) { connection in
                let now = try await lock(connection)
                var transaction = PresenceTransaction(
                    connection: connection, logger: logger, now: now, configuration: configuration.presence)
                let result = try await body(&transaction)
                let latest = try await append(transaction.events.map(PendingEvent.init) + extra, on: connection)
                return (result, latest)
            }
        }
        if let latest { notifier.advance(to: latest) }
        return result
    }

    /// Takes the write lock for the rest of the transaction and reads the shared clock.
    private func lock(_ connection: PostgresConnection) async throws -> Int64 {
        let injected = now?()
        let rows = try await connection.rows(
            """
            SELECT coalesce(\(injected)::bigint, \(unescaped: Self.databaseClock))
            FROM (SELECT pg_advisory_xact_lock(\(Self.writeLockKey))) AS locked
            """, logger: logger
        ) { try $0.decode(Int64.self) }
        guard let now = rows.first else { throw PostgresStoreError.corruptRow }
        return now
    }

    /// Numbers and inserts `events`, counts them by kind and notifies every instance; returns the new latest sequence.
    private func append(_ events: [PendingEvent], on connection: PostgresConnection) async throws -> UInt64? {
        guard !events.isEmpty else { return nil }
        let latest = try await connection.rows(
            """
            UPDATE usher_meta SET latest_sequence = latest_sequence + \(events.count)
            RETURNING latest_sequence, pg_notify(\(Self.notifyChannel), latest_sequence::text)::text
            """, logger: logger
        ) { try $0.decode((Int64, String).self).0 }.first
        guard let latest else { throw PostgresStoreError.corruptRow }
        var binds = PostgresBindings(capacity: events.count * 6)
        var rows: [String] = []
        for (offset, event) in events.enumerated() {
            let base = offset * 6
            rows.append("($\(base + 1), $\(base + 2), $\(base + 3), $\(base + 4), $\(base + 5), $\(base + 6))")
            binds.append(latest - Int64(events.count) + Int64(offset) + 1)
            binds.append(event.kind.rawValue)
            binds.append(event.app)
            binds.append(event.channel)
            binds.append(event.userID)
            binds.append(event.userInfo)
        }
        let insert = PostgresQuery(
            unsafeSQL: """
                WITH logged AS (INSERT INTO usher_events (sequence, kind, app, channel, user_id, user_info)
                    VALUES \(rows.joined(separator: ", ")) RETURNING kind)
                INSERT INTO usher_event_counts (kind, count) SELECT kind, count(*) FROM logged GROUP BY kind
                ON CONFLICT (kind) DO UPDATE SET count = usher_event_counts.count + excluded.count
                """, binds: binds)
        try await connection.query(insert, logger: logger)
        return UInt64(latest)
    }
}
