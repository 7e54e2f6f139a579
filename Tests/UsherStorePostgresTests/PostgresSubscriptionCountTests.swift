import Testing
import UsherCore
import UsherCrypto
import UsherStorePostgres

/// `subscription_count` over PostgreSQL: each instance reports the channels its own commits changed, and the events
/// it logs carry the deployment-wide count, read under the write lock.
@Suite(PostgresTestDatabase.enabled) struct PostgresSubscriptionCountTests {
    static func join(_ socket: String, _ channel: String, node: NodeID, user: String? = nil) throws -> PresenceWrite {
        .join(
            try Subscription(
                app: "a", socketID: try SocketID(validating: socket), channel: try ChannelName(validating: channel),
                member: user.map { PresenceMember(userID: $0) }),
            node: node, limits: PresenceLimits())
    }

    static func counts(_ store: PostgresPresenceStore, after sequence: UInt64) async throws -> [String] {
        guard case .events(let events) = try await store.events(after: sequence, limit: 1000) else { return ["gap"] }
        return events.filter { $0.kind == .subscriptionCount }.map { "\($0.channel ?? "?") \($0.extra ?? "-")" }
    }

    @Test("changes are reported by the instance that made them; counts are deployment-wide; presence is left out")
    func twoInstances() async throws {
        try await PostgresTestDatabase.withStores(2) { stores in
            let node = try NodeID(validating: "relay-1")
            _ = try await stores[0].apply([
                try Self.join("1.1", "news", node: node), try Self.join("1.1", "private-desk", node: node),
                try Self.join("1.1", "presence-room", node: node, user: "ann"),
            ])
            _ = try await stores[1].apply([try Self.join("1.2", "news", node: node)])
            #expect(stores[0].takeCountChanges() == [AppChannel(app: "a", channel: "news"), AppChannel(app: "a", channel: "private-desk")])
            #expect(stores[0].takeCountChanges().isEmpty)
            #expect(stores[1].takeCountChanges() == [AppChannel(app: "a", channel: "news")])

            let before = try await stores[0].latestSequence()
            try await stores[0].appendSubscriptionCounts([AppChannel(app: "a", channel: "news"), AppChannel(app: "a", channel: "gone")])
            // Both instances read the same log: the other instance's subscriber is counted.
            #expect(try await Self.counts(stores[1], after: before) == [#"news "subscription_count":2"#, #"gone "subscription_count":0"#])

            // A disconnect reports every channel the socket left.
            _ = try await stores[1].apply([.disconnect(app: "a", socketID: try SocketID(validating: "1.1"))])
            #expect(stores[1].takeCountChanges() == [AppChannel(app: "a", channel: "news"), AppChannel(app: "a", channel: "private-desk")])
        }
    }

    @Test("a node whose lease lapses reports the channels its sockets leave")
    func leaseExpiry() async throws {
        let clock = ManualClock()
        try await PostgresTestDatabase.withStores(1, presence: .init(graceMillis: 0, leaseMillis: 1000), now: clock.reader) { stores in
            let dead = try NodeID(validating: "relay-dead")
            _ = try await stores[0].apply([
                try Self.join("1.1", "news", node: dead), try Self.join("1.2", "news", node: dead),
                try Self.join("1.1", "presence-room", node: dead, user: "ann"),
            ])
            _ = stores[0].takeCountChanges()
            clock.advance(by: 1001)
            try await stores[0].advance()
            #expect(stores[0].takeCountChanges() == [AppChannel(app: "a", channel: "news")])
            let before = try await stores[0].latestSequence()
            try await stores[0].appendSubscriptionCounts([AppChannel(app: "a", channel: "news")])
            #expect(try await Self.counts(stores[0], after: before) == [#"news "subscription_count":0"#])
        }
    }
}
