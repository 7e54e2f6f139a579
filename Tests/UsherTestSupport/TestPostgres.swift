import Foundation
public import Logging
import PostgresNIO
import UsherStorePostgres

/// The PostgreSQL cluster tests use, named by `USHER_TEST_POSTGRES_URL` (scripts/postgres.sh starts one), and fresh
/// databases on it; suites that need it are skipped when it is unset.
public enum TestPostgres {
    public struct NotConfigured: Error {}

    /// The cluster's URL (of its `postgres` database), nil when tests run without one.
    public static let url = ProcessInfo.processInfo.environment["USHER_TEST_POSTGRES_URL"]
    /// Why suites needing the cluster are skipped without it.
    public static let skipReason = "USHER_TEST_POSTGRES_URL is not set: run scripts/test.sh, or eval \"$(scripts/postgres.sh start)\""

    /// Creates an empty database on the cluster and returns its URL.
    public static func createDatabase(logger: Logger) async throws -> String {
        guard let base = url, let slash = base.range(of: "/", options: .backwards) else { throw NotConfigured() }
        let name = "usher_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = PostgresClient(configuration: try PostgresPresenceStore.Configuration(url: base).connection, backgroundLogger: logger)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await admin.run() }
            try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            group.cancelAll()
        }
        return String(base[..<slash.upperBound]) + name
    }
}
