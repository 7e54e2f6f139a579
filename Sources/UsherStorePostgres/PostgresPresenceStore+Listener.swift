import Logging
import PostgresNIO

extension PostgresPresenceStore {
    /// Migrates once, then holds one connection in LISTEN, raising the notifier on every NOTIFY and catching up from
    /// the table after each (re)connect; reconnects after any failure until cancelled.
    func listen() async {
        var migrated = false
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    if !migrated {
                        try await SchemaMigrator(logger: logger).migrate(on: connection)
                        migrated = true
                    }
                    try await connection.listen(on: Self.notifyChannel) { notifications in
                        try await follow(notifications, on: connection)
                    }
                }
            } catch {
                if !Task.isCancelled {
                    // The first failure of an outage says why (no privilege, wrong database, a failed migration…);
                    // the retries every 250 ms after it stay at debug.
                    logger.log(
                        level: health == .down ? .debug : .warning, "presence listener failed",
                        metadata: ["usher.error": "\(String(reflecting: error))"])
                }
            }
            guard !Task.isCancelled else { return }
            setHealth(.down)
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Subscribed: catches up, reports health up, then follows notifications and probes until either fails.
    private func follow(_ notifications: PostgresNotificationSequence, on connection: PostgresConnection) async throws {
        try await probe(connection)
        setHealth(.up)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await notification in notifications {
                    if let sequence = UInt64(notification.payload) { self.notifier.advance(to: sequence) }
                }
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: self.configuration.probeInterval)
                    try await self.probe(connection)
                }
            }
            // Either ending means the connection is gone (the sequence ends or throws when it closes).
            _ = try await group.next()
            group.cancelAll()
        }
    }

    /// Reads the epoch and newest sequence within the operation timeout; throws when the database does not answer.
    private func probe(_ connection: PostgresConnection) async throws {
        let row = try await withTimeout(configuration.operationTimeout) {
            try await connection.rows("SELECT epoch, latest_sequence FROM usher_meta", logger: self.logger) {
                try $0.decode((String, Int64).self)
            }.first
        }
        guard let row else { throw PostgresStoreError.corruptRow }
        setEpoch(row.0)
        let latest = UInt64(row.1)
        // Sequences never go back in one database, so a lower reading than the last probe's means another one
        // (restored or replaced): readers must be able to wait again from the lower position.
        if let previous = probed.withLock({ value in defer { value = latest }; return value }), latest < previous {
            logger.warning("the presence database's event sequence went back; readers reset", metadata: ["usher.latest": "\(latest)"])
            notifier.lower(to: latest)
        }
        notifier.advance(to: latest)
    }
}

/// Runs `operation`, throwing ``PostgresStoreError/unavailable`` if it takes longer than `timeout` (and cancelling it).
///
/// The group still awaits the cancelled operation, so the caller is released early only when the operation answers
/// cancellation: waiting for a pooled connection does; a query already sent does not (postgres-nio), and ends when
/// its connection answers or fails.
func withTimeout<Result: Sendable>(
    _ timeout: Duration, _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else { throw PostgresStoreError.unavailable }
        return result
    }
}
