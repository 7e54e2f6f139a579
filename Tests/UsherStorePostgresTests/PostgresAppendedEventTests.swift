import Testing
import UsherCore
import UsherStorePostgres

/// Events logged as given (`terminate_connections`, relays' `client_event` and `cache_miss`) read back from the table
/// exactly as the memory store logs them.
@Suite(PostgresTestDatabase.enabled) struct PostgresAppendedEventTests {
    @Test("appended events keep their kind, channel, user and webhook members, in order")
    func roundTrip() async throws {
        try await PostgresTestDatabase.withStores(1) { stores in
            let appended = [
                AppendedEvent(kind: .terminateConnections, app: "a", userID: "u9"),
                AppendedEvent(
                    kind: .clientEvent, app: "a", channel: "presence-room", userID: "ann",
                    extra: StreamEvent.clientEventExtra(event: "client-typing", data: #"{"n":1}"#, socketID: "1.2")),
                AppendedEvent(kind: .cacheMiss, app: "a", channel: "cache-prices"),
            ]
            try await stores[0].append(appended)
            guard case .events(let events) = try await stores[0].events(after: 0, limit: 10) else { throw CancellationError() }
            #expect(events == appended.enumerated().map { $1.logged(at: UInt64($0 + 1)) })
        }
    }
}
