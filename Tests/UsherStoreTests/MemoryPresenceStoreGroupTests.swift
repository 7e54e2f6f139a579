import Testing
import UsherCore
import UsherCrypto
import UsherStore
import UsherTestSupport

/// Groups on the memory store (each submission applied together under the store's lock): a batch answers, write by
/// write, what Core's registry answers applying the same writes one at a time (events and logging included);
/// concurrent single calls, however they interleave, each take effect exactly once.
@Suite struct MemoryPresenceStoreGroupTests {
    static let sockets = (1...6).map { "1.\($0)" }
    static let channels = ["presence-x", "presence-y", "private-z"]
    static let users = ["u1", "u2", "u3", "u4"]
    static let infos: [JSONValue?] = [nil, .object(["n": .integer(1)]), .object([:])]
    static let limits = PresenceLimits(maxMembers: 3)

    @Test("random batches match the registry applying their writes one by one", arguments: [UInt64(7), 0xBA7C4])
    func randomBatches(seed: UInt64) async throws {
        let timing = PresenceRegistry.Configuration(graceMillis: 0, leaseMillis: 60_000)
        let clock = ManualClock()
        let store = MemoryPresenceStore(configuration: timing, logCapacity: 100_000, now: clock.read)
        var registry = PresenceRegistry(configuration: timing)
        var rng = SplitMix64(seed: seed)
        var cursor: UInt64 = 0
        for step in 0..<300 {
            var writes: [PresenceWrite] = []
            for _ in 0..<Int.random(in: 1...10, using: &rng) { writes.append(try Self.randomWrite(&rng)) }
            let results = store.apply(writes)
            var expectedEvents: [PresenceEvent] = []
            for (index, (write, result)) in zip(writes, results).enumerated() {
                let expected = registry.apply(write, now: clock.now, events: &expectedEvents)
                guard Self.same(result, expected) else {
                    Issue.record("seed \(seed) step \(step) op \(index) \(write): \(result) but the registry says \(expected)")
                    return
                }
            }
            guard case .events(let logged) = store.events(after: cursor, limit: 10_000) else {
                Issue.record("gap")
                return
            }
            cursor = logged.last?.sequence ?? cursor
            let expectedLog = expectedEvents.map { StreamEvent(sequence: 0, $0).data }
            guard logged.map(\.data) == expectedLog else {
                Issue.record("seed \(seed) step \(step): logged \(logged.map(\.data)) but the registry says \(expectedLog)")
                return
            }
        }
        #expect(cursor > 100, "the run logged too few events to mean anything")
    }

    @Test("concurrent single joins and leaves, grouped as they arrive, add and remove each member exactly once")
    func concurrentSingles() async throws {
        let store = MemoryPresenceStore(configuration: .init(graceMillis: 0, leaseMillis: 60_000), logCapacity: 10_000)
        let node = try StoreFixture.node("n1")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for user in 0..<200 {
                group.addTask {
                    let subscription = try StoreFixture.subscription("1.\(user)", "presence-room", user: "u\(user % 100)")
                    _ = try await store.join(subscription, node: node, limits: PresenceLimits(maxMembers: 1000))
                }
            }
            try await group.waitForAll()
        }
        #expect(store.counts(app: StoreFixture.app, channel: "presence-room") == (200, 100))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for user in 0..<200 {
                group.addTask {
                    try await store.leave(app: StoreFixture.app, socketID: StoreFixture.socket("1.\(user)"), channel: StoreFixture.channel("presence-room"))
                }
            }
            try await group.waitForAll()
        }
        guard case .events(let events) = store.events(after: 0, limit: 10_000) else { return }
        for kind in [StreamEvent.Kind.memberAdded, .memberRemoved] {
            let users = events.filter { $0.kind == kind }.compactMap(\.userID)
            #expect(users.count == 100 && Set(users).count == 100, "\(kind)")
        }
        #expect(events.count == 202)
        #expect(events.first?.kind == .channelOccupied && events.last?.kind == .channelVacated)
    }

    /// Equal results, member lists compared as sets (listing order is not promised).
    static func same(_ lhs: PresenceWriteResult, _ rhs: PresenceWriteResult) -> Bool {
        switch (lhs.join, rhs.join) {
        case (nil, nil): true
        case (.joined(let a, _)?, .joined(let b, _)?): a == b && lhs.join?.members == rhs.join?.members
        case (.alreadySubscribed?, .alreadySubscribed?): lhs.join?.members == rhs.join?.members
        case (.refused(let a)?, .refused(let b)?): a == b
        default: false
        }
    }

    static func randomWrite(_ rng: inout SplitMix64) throws -> PresenceWrite {
        let channel = channels.randomElement(using: &rng)!
        let socket = sockets.randomElement(using: &rng)!
        let node = try NodeID(validating: ["n1", "n2"].randomElement(using: &rng)!)
        let subscription = try StoreFixture.subscription(
            socket, channel, user: users.randomElement(using: &rng)!, info: infos.randomElement(using: &rng)!)
        switch Int.random(in: 0..<10, using: &rng) {
        case 0..<5: return .join(subscription, node: node, limits: limits, wantsPresence: Bool.random(using: &rng))
        case 5..<8: return .leave(app: subscription.app, socketID: subscription.socketID, channel: subscription.channel)
        case 8: return .disconnect(app: subscription.app, socketID: subscription.socketID)
        default: return .renew(node)
        }
    }
}
