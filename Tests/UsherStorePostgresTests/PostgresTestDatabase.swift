import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing
import UsherCore
import UsherCrypto
import UsherStorePostgres
import UsherTestSupport

/// A fresh database per test on the cluster named by `USHER_TEST_POSTGRES_URL` (scripts/postgres.sh starts one);
/// tests are skipped with that reason when it is unset.
enum PostgresTestDatabase {
    static let url = TestPostgres.url
    static let enabled = Testing.ConditionTrait.enabled(if: url != nil, Comment(rawValue: TestPostgres.skipReason))
    /// Quiet: connection failures are expected in some tests; failures show through expectations, not logs.
    static let logger: Logger = {
        var logger = Logger(label: "usher.test.postgres")
        logger.logLevel = .error
        return logger
    }()

    /// Creates an empty database and returns its URL.
    static func create() async throws -> String {
        try await TestPostgres.createDatabase(logger: logger)
    }

    /// Runs `count` store instances on one fresh database (each with its own pool and LISTEN loop) around `body`.
    static func withStores<Result>(
        _ count: Int, presence: PresenceRegistry.Configuration = .init(graceMillis: 0, leaseMillis: 60_000),
        retainedEvents: Int64 = 10_000, url: String? = nil, now: (@Sendable () -> Int64)? = nil,
        probeInterval: Duration = .seconds(1),
        _ body: ([PostgresPresenceStore]) async throws -> Result
    ) async throws -> Result {
        let url = if let url { url } else { try await create() }
        var configuration = try PostgresPresenceStore.Configuration(url: url)
        configuration.poolSize = 4
        configuration.presence = presence
        configuration.retainedEvents = retainedEvents
        configuration.operationTimeout = .seconds(10)
        configuration.probeInterval = probeInterval
        let stores = (0..<count).map { _ in
            PostgresPresenceStore(configuration: configuration, logger: logger, now: now)
        }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores { group.addTask { try await store.run() } }
            defer { group.cancelAll() }
            return try await body(stores)
        }
    }
}

/// A clock tests move by hand, shared by several store instances.
final class ManualClock: Sendable {
    private let millis = Mutex<Int64>(0)

    var now: Int64 { millis.withLock { $0 } }
    var reader: @Sendable () -> Int64 { { self.now } }

    func advance(by delta: Int64) {
        millis.withLock { $0 += delta }
    }
}

extension PostgresPresenceStore {
    /// Every event after `sequence`, as the presence events they log (member and channel events only).
    func presenceEvents(after sequence: UInt64) async throws -> (events: [PresenceEvent], latest: UInt64) {
        guard case .events(let logged) = try await events(after: sequence, limit: 10_000) else {
            Issue.record("unexpected gap after \(sequence)")
            return ([], sequence)
        }
        let events = try logged.map { event in
            PresenceEvent(
                kind: try #require(PresenceEventKind(rawValue: event.kind.rawValue)), app: event.app,
                channel: event.channel ?? "", userID: event.userID, userInfo: try Self.userInfo(in: event.data))
        }
        return (events, logged.last?.sequence ?? sequence)
    }

    private static func userInfo(in data: String) throws -> JSONValue? {
        try JSONValue.parse(data)["user_info"]
    }
}
