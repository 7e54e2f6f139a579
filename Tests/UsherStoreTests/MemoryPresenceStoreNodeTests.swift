import Testing
import UsherCore
import UsherCrypto
import UsherStore

/// `MemoryPresenceStore` nodes: heartbeats and leases, resyncs after a restart, statistics and non-presence events.
@Suite struct MemoryPresenceStoreNodeTests {
    let clock = ManualClock()
    let store: MemoryPresenceStore

    init() {
        store = MemoryPresenceStore(
            configuration: .init(graceMillis: 1000, leaseMillis: 5000), logCapacity: 64, now: clock.read)
    }

    @Test("a heartbeat answers the store's stable epoch and the lease, asking unknown nodes to resync once")
    func heartbeat() async throws {
        let first = try store.heartbeat(node: StoreFixture.node("n1"))
        #expect(first == NodeLease(epoch: store.epoch, leaseMillis: 5000, resync: true))
        #expect(try store.heartbeat(node: StoreFixture.node("n1")) == NodeLease(epoch: store.epoch, leaseMillis: 5000))
        #expect(try store.heartbeat(node: StoreFixture.node("n2")).epoch == first.epoch)
        #expect(store.epoch.count == 16)
        #expect(MemoryPresenceStore().epoch != store.epoch)
        #expect(store.statistics().presence.nodes == 2)
    }

    @Test("a lapsed lease drops the node's sockets without grace; users with a socket elsewhere stay")
    func leaseExpiry() async throws {
        _ = try await store.join(StoreFixture.subscription("1.1", "presence-room", user: "ann"), node: "n1")
        _ = try await store.join(StoreFixture.subscription("2.1", "presence-room", user: "bob"), node: "n2")
        _ = try await store.join(StoreFixture.subscription("2.2", "presence-room", user: "ann"), node: "n2")
        let mark = store.log.latest
        clock.advance(by: 4000)
        _ = try store.heartbeat(node: StoreFixture.node("n1"))
        clock.advance(by: 999)
        store.advance()
        #expect(store.summary(after: mark).isEmpty)
        clock.advance(by: 1)
        store.advance()
        #expect(store.summary(after: mark) == ["member_removed bob"])
        #expect(store.presence(app: "app1", channel: "presence-room")?.userIDs == ["ann"])
        var statistics = store.statistics()
        #expect(statistics.leaseExpiries == 1)
        #expect(statistics.presence == PresenceStatistics(members: 1, channels: 1, sockets: 1, subscriptions: 1, nodes: 1))

        clock.advance(by: 4000)
        store.advance()
        #expect(store.summary(after: mark) == ["member_removed bob", "member_removed ann", "channel_vacated presence-room"])
        statistics = store.statistics()
        #expect(statistics.leaseExpiries == 2)
        #expect(statistics.presence == PresenceStatistics())
    }

    @Test("after a restart (a new store) a node's snapshot re-adds its members under the new epoch")
    func replaceNodeAfterRestart() async throws {
        let snapshot = [
            try StoreFixture.subscription("1.1", "presence-room", user: "ann", info: .object(["name": .string("Ann")])),
            try StoreFixture.subscription("1.2", "presence-room", user: "bob"),
            try StoreFixture.subscription("1.2", "private-doc"),
        ]
        for subscription in snapshot { _ = try await store.join(subscription) }
        let before = store.presence(app: "app1", channel: "presence-room")

        let restarted = MemoryPresenceStore(configuration: .init(graceMillis: 1000, leaseMillis: 5000), now: clock.read)
        #expect(restarted.epoch != store.epoch)
        #expect(restarted.presence(app: "app1", channel: "presence-room") == nil)
        try restarted.replaceNode(StoreFixture.node("n1"), with: snapshot)
        #expect(restarted.summary() == [
            "channel_occupied presence-room", "member_added ann", "member_added bob", "channel_occupied private-doc",
        ])
        let after = restarted.presence(app: "app1", channel: "presence-room")
        let (afterMembers, beforeMembers) = (after.map(\.members), before.map(\.members))
        #expect(afterMembers == beforeMembers)
        #expect(try restarted.heartbeat(node: StoreFixture.node("n1")).epoch == restarted.epoch)
        #expect(restarted.statistics().presence.nodes == 1)
    }

    @Test("a repeated snapshot changes nothing; a smaller one unsubscribes the rest through grace")
    func replaceNodeDiff() async throws {
        let ann = try StoreFixture.subscription("1.1", "presence-room", user: "ann")
        let bob = try StoreFixture.subscription("1.2", "presence-room", user: "bob")
        try store.replaceNode(StoreFixture.node("n1"), with: [ann, bob])
        let mark = store.log.latest
        try store.replaceNode(StoreFixture.node("n1"), with: [bob, ann])
        #expect(store.summary(after: mark).isEmpty)
        try store.replaceNode(StoreFixture.node("n1"), with: [bob])
        #expect(store.summary(after: mark).isEmpty)
        clock.advance(by: 1000)
        store.advance()
        #expect(store.summary(after: mark) == ["member_removed ann"])
        #expect(store.counts(app: "app1", channel: "presence-room") == (1, 1))
    }

    @Test("statistics count members, channels, sockets, subscriptions, nodes and events by kind")
    func statistics() async throws {
        _ = try await store.join(StoreFixture.subscription("1.1", "presence-room", user: "ann"), node: "n1")
        _ = try await store.join(StoreFixture.subscription("1.2", "presence-room", user: "ann"), node: "n1")
        _ = try await store.join(StoreFixture.subscription("1.2", "public-news"), node: "n1")
        _ = try await store.join(StoreFixture.subscription("2.1", "presence-room", user: "bob"), node: "n2")
        try await store.leave(app: "app1", socketID: StoreFixture.socket("1.2"), channel: StoreFixture.channel("public-news"))
        let statistics = store.statistics()
        #expect(statistics.presence == PresenceStatistics(members: 2, channels: 1, sockets: 3, subscriptions: 3, nodes: 2))
        #expect(statistics.leaseExpiries == 0)
        #expect(statistics.eventsByKind == [.channelOccupied: 2, .memberAdded: 2, .channelVacated: 1])
    }

    @Test("append(terminate_connections) lands in the log with the app and user, and wakes waiters")
    func terminateConnections() async throws {
        // Through the protocol, as the server uses it.
        let store: any PresenceStore = store
        let before = try await store.latestSequence()
        async let woke: Void = store.waitForEvents(after: before, timeout: .seconds(3600))
        try await store.append([AppendedEvent(kind: .terminateConnections, app: "app1", userID: "u9")])
        try await woke
        guard case .events(let events) = try await store.events(after: before, limit: 10), let event = events.first else {
            Issue.record("nothing logged")
            return
        }
        #expect(events.count == 1)
        #expect(event.sequence == before + 1)
        #expect(event.kind == .terminateConnections)
        #expect(event.channel == nil)
        #expect(event.userID == "u9")
        #expect(event.data == #"{"app":"app1","user_id":"u9"}"#)
        #expect(try await store.statistics().eventsByKind[.terminateConnections] == 1)
    }

    @Test("the store's log is bounded by logCapacity and reports gaps for dropped positions")
    func boundedLog() async throws {
        let small = MemoryPresenceStore(logCapacity: 3, now: clock.read)
        for user in 1...5 { small.append([AppendedEvent(kind: .terminateConnections, app: "app1", userID: "u\(user)")]) }
        guard case .gap(let latest) = small.events(after: 1, limit: 10) else {
            Issue.record("a dropped position did not answer a gap")
            return
        }
        #expect(latest == 5)
        #expect(small.summary(after: 2) == ["terminate_connections u3", "terminate_connections u4", "terminate_connections u5"])
    }
}
