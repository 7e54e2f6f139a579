import Foundation
public import PostgresNIO
public import UsherCore

extension PostgresPresenceStore {
    /// Where the database is and how the store uses it.
    ///
    /// ```swift
    /// let configuration = try PostgresPresenceStore.Configuration(url: "postgres://usher:secret@db/usher")
    /// ```
    public struct Configuration: Sendable {
        /// The connection settings, including the password: never log this, log ``redactedURL``.
        public var connection: PostgresClient.Configuration
        /// The URL without its password, for logs.
        public let redactedURL: String
        /// Connections in the pool (one more is held by the LISTEN loop).
        public var poolSize = 8
        /// Events kept in the table for `Last-Event-ID` resumption; older ones are deleted by the sweeper.
        public var retainedEvents: Int64 = 10_000
        /// How long a request waits for the database before failing with ``PostgresStoreError/unavailable``.
        public var operationTimeout: Duration = .seconds(2)
        /// Grace and lease durations, in milliseconds of the deployment's shared clock (the database's).
        public var presence = PresenceRegistry.Configuration()
        /// How often the LISTEN connection also reads the newest sequence: a health probe, and a catch-up in case a
        /// notification was lost.
        public var probeInterval: Duration = .seconds(1)

        /// Parses `postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require]`; a unix socket
        /// directory goes in `?host=/path` with an empty host.
        ///
        /// - Throws: ``PostgresStoreError/invalidURL`` for any other shape (the message never repeats the URL).
        public init(url: String) throws(PostgresStoreError) {
            guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? ""),
                let user = parts.percentEncodedUser?.removingPercentEncoding, !user.isEmpty
            else { throw .invalidURL }
            let database = String(parts.path.drop(while: { $0 == "/" }))
            let password = parts.percentEncodedPassword?.removingPercentEncoding
            let query = Dictionary((parts.queryItems ?? []).map { ($0.name, $0.value ?? "") }) { _, last in last }
            // Anything else (a libpq-style `?password=`, say) is refused: silently ignored it would end up in logs.
            guard query.keys.allSatisfy({ ["host", "sslmode"].contains($0) }) else { throw .invalidURL }
            let host = parts.host ?? ""
            if host.isEmpty, let socket = query["host"], socket.hasPrefix("/") {
                connection = .init(
                    unixSocketPath: socket + "/.s.PGSQL.\(parts.port ?? 5432)", username: user, password: password,
                    database: database.isEmpty ? nil : database)
            } else {
                guard !host.isEmpty else { throw .invalidURL }
                let tls: PostgresClient.Configuration.TLS =
                    switch query["sslmode"] ?? "disable" {
                    case "disable": .disable
                    case "prefer": .prefer(.makeClientConfiguration())
                    case "require": .require(.makeClientConfiguration())
                    default: throw .invalidURL
                    }
                connection = .init(
                    host: host, port: parts.port ?? 5432, username: user, password: password,
                    database: database.isEmpty ? nil : database, tls: tls)
            }
            connection.options.connectTimeout = .seconds(2)
            // Server-side limits, because queries already sent ignore task cancellation: a transaction left open by an
            // instance that lost its network (no reset) is ended by the server instead of holding the write lock
            // until TCP gives up, lock waits are bounded, and dead peers are noticed by keepalives.
            connection.options.additionalStartupParameters = [
                ("idle_in_transaction_session_timeout", "10000"), ("lock_timeout", "10000"),
                ("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "5"), ("tcp_keepalives_count", "3"),
            ]
            var redacted = parts
            if redacted.password != nil { redacted.password = "***" }
            redactedURL = redacted.string ?? "postgres://…"
        }
    }
}
