import Testing
import UsherCore
import UsherCrypto
@testable import UsherStorePostgres

/// The sweep of a large backlog: more graces due at once than one sweep transaction ends, as after a reconnect storm
/// whose sockets all dropped, with a lapsed lease among them. (Ended one statement per grace, this backlog took about
/// 6 s, beyond the default store timeout of 2 s, so production sweeps rolled back for ever: `scripts/soak-relay.sh
/// postgres` with `PG_BENCH_STORE_TIMEOUT_MS` shows that end to end. Here the timeout is the tests' 10 s, so that a
/// loaded machine cannot fail the test.)
///
/// Disabled: with it in the parallel suite the test process stalled in most runs here (docs/design.md, "Test
/// suite"), without it in none of the runs tried; run it alone with `swift test --filter PostgresSweepTests` after
/// removing the trait, until the stall is understood.
@Suite(PostgresTestDatabase.enabled, .disabled("stalls the parallel suite; see the comment above"))
struct PostgresSweepTests {
    @Test("a backlog of graces beyond one sweep's bound ends in one advance, in the registry's order and events")
    func backlog() async throws {
        let timing = PresenceRegistry.Configuration(graceMillis: 1000, leaseMillis: 5000)
        let clock = ManualClock()
        let count = PostgresPresenceStore.maxGracesPerSweep * 5 / 4
        try await PostgresTestDatabase.withStores(1, presence: timing, now: clock.reader) { stores in
            let store = stores[0]
            var registry = PresenceRegistry(configuration: timing)
            var events: [PresenceEvent] = []
            func apply(_ writes: [PresenceWrite]) async throws {
                _ = try await store.apply(writes)
                for write in writes { _ = registry.apply(write, now: clock.now, events: &events) }
            }
            // Members on 50 channels through node n1, 100 more through n2, whose lease then lapses.
            let (n1, n2) = (try NodeID(validating: "n1"), try NodeID(validating: "n2"))
            var sockets: [SocketID] = []
            var joins: [PresenceWrite] = []
            for index in 0..<(count + 100) {
                let socket = try SocketID(validating: "1.\(index)")
                let subscription = try Subscription(
                    app: "a1", socketID: socket, channel: try ChannelName(validating: "presence-c\(index % 50)"),
                    member: PresenceMember(userID: "u\(index)", userInfo: nil))
                joins.append(.join(subscription, node: index < count ? n1 : n2, limits: PresenceLimits(), wantsPresence: false))
                if index < count { sockets.append(socket) }
            }
            for start in stride(from: 0, to: joins.count, by: 500) { try await apply(Array(joins[start..<min(start + 500, joins.count)])) }
            _ = try await store.heartbeat(node: n1)
            _ = registry.heartbeat(node: n1, now: clock.now)
            let (_, setUp) = try await store.presenceEvents(after: 0)
            // n1's sockets drop a batch at a time, a millisecond apart: graces with distinct deadlines.
            for start in stride(from: 0, to: sockets.count, by: 500) {
                clock.advance(by: 1)
                try await apply(sockets[start..<min(start + 500, sockets.count)].map { .disconnect(app: "a1", socketID: $0) })
            }
            clock.advance(by: 6000)
            try await store.advance()
            let expected = registry.advance(now: clock.now)
            let (logged, _) = try await store.presenceEvents(after: setUp)
            #expect(expected.filter { $0.kind == .memberRemoved }.count == count + 100)
            #expect(expected.filter { $0.kind == .channelVacated }.count == 50)
            #expect(logged == expected)
            for channel in 0..<50 {
                #expect(try await store.members(app: "a1", channel: "presence-c\(channel)", withUserInfo: false).isEmpty)
            }
        }
    }
}
