import Testing
import UsherCore
import UsherCrypto
import UsherTestSupport
import UsherStorePostgres

/// The randomized presence model test against PostgreSQL: two store instances (two pools, two LISTEN loops, as two
/// `usher serve` processes would have) receive interleaved relay calls, and after every step the global event log and
/// every member list must match Core's `PresenceRegistry` fed the same calls (itself checked against the naive model
/// in UsherCoreTests). Some steps are batches (many writes in one group commit): each write's result, member list
/// and events must be those of the registry applying the writes one by one.
@Suite(PostgresTestDatabase.enabled) struct PostgresModelTests {
    static let apps = ["a1", "a2"]
    static let nodes = ["n1", "n2", "n3"]
    static let sockets = (1...8).map { "1.\($0)" }
    static let channels = ["presence-x", "presence-y", "private-z", "pub"]
    static let users = ["u1", "u2", "u3", "u4", "u5"]
    static let infos: [JSONValue?] = [nil, .object(["n": .integer(1)]), .object(["n": .string("ü")]), .object([:])]
    static let limits = PresenceLimits(maxMembers: 3)

    @Test("two instances with interleaved calls match the registry, with grace", arguments: [UInt64(1), 0xDEAD_BEEF])
    func withGrace(seed: UInt64) async throws {
        try await run(seed: seed, graceMillis: 1000, steps: 400)
    }

    @Test("two instances with interleaved calls match the registry, without grace", arguments: [UInt64(2)])
    func withoutGrace(seed: UInt64) async throws {
        try await run(seed: seed, graceMillis: 0, steps: 300)
    }

    func run(seed: UInt64, graceMillis: Int64, steps: Int) async throws {
        let timing = PresenceRegistry.Configuration(graceMillis: graceMillis, leaseMillis: 2000)
        let clock = ManualClock()
        try await PostgresTestDatabase.withStores(2, presence: timing, now: clock.reader) { stores in
            var rng = SplitMix64(seed: seed)
            var registry = PresenceRegistry(configuration: timing)
            var cursor: UInt64 = 0
            for step in 0..<steps {
                let store = stores[Int.random(in: 0..<2, using: &rng)]
                let (label, expected) = try await Self.step(store, &registry, clock: clock, &rng)
                let (actual, latest) = try await stores[step % 2].presenceEvents(after: cursor)
                cursor = latest
                guard actual == expected else {
                    Issue.record("seed \(seed) step \(step) \(label): log \(actual) but the registry says \(expected)")
                    return
                }
                if let mismatch = try await Self.compare(stores[(step + 1) % 2], registry) {
                    Issue.record("seed \(seed) step \(step) \(label): \(mismatch)")
                    return
                }
            }
            #expect(cursor > UInt64(steps / 4), "the run logged too few events to mean anything")
        }
    }

    /// One random relay call on `store` and on the registry; returns a label and the registry's events.
    static func step(
        _ store: PostgresPresenceStore, _ registry: inout PresenceRegistry, clock: ManualClock,
        _ rng: inout SplitMix64
    ) async throws -> (String, [PresenceEvent]) {
        let roll = Int.random(in: 0..<112, using: &rng)
        switch roll {
        case 0..<45:
            let (subscription, node) = try randomSubscription(&rng)
            let expected = registry.join(subscription, node: node, limits: limits, now: clock.now)
            let actual = try await store.join(subscription, node: node, limits: limits)
            let label = "join \(subscription.app) \(subscription.socketID) \(subscription.channel.name) on \(node)"
            switch (actual, expected) {
            case (.joined(let added, _), .joined(let expectedAdded, _)) where added == expectedAdded: break
            case (.alreadySubscribed, .alreadySubscribed), (.refused(.membersFull), .refused(.membersFull)): break
            default: Issue.record("\(label): \(actual) but the registry says \(expected)")
            }
            return (label, expected.events)
        case 45..<60:
            let (subscription, _) = try randomSubscription(&rng)
            let (app, socket, channel) = (subscription.app, subscription.socketID, subscription.channel)
            try await store.leave(app: app, socketID: socket, channel: channel)
            return ("leave \(app) \(socket) \(channel.name)", registry.leave(app: app, socketID: socket, channel: channel, now: clock.now))
        case 60..<66:
            let (subscription, _) = try randomSubscription(&rng)
            try await store.disconnect(app: subscription.app, socketID: subscription.socketID)
            let events = registry.disconnect(app: subscription.app, socketID: subscription.socketID, now: clock.now)
            return ("disconnect \(subscription.app) \(subscription.socketID)", events)
        case 66..<74:
            let node = try NodeID(validating: nodes.randomElement(using: &rng)!)
            let lease = try await store.heartbeat(node: node)
            let known = registry.heartbeat(node: node, now: clock.now)
            if lease.resync == known { Issue.record("heartbeat \(node): resync \(lease.resync), registry knew it: \(known)") }
            return ("heartbeat \(node)", [])
        case 74..<95:
            clock.advance(by: 100 * (roll == 94 ? Int64.random(in: 30...90, using: &rng) : Int64.random(in: 0...7, using: &rng)))
            try await store.advance()
            return ("advance to \(clock.now)", registry.advance(now: clock.now))
        case 100..<112:
            return try await batch(store, &registry, clock: clock, &rng)
        default:
            let node = try NodeID(validating: nodes.randomElement(using: &rng)!)
            var snapshot: [Subscription] = []
            for _ in 0..<Int.random(in: 0...5, using: &rng) { snapshot.append(try randomSubscription(&rng).0) }
            try await store.replaceNode(node, with: snapshot)
            let events = registry.replaceNode(node, with: snapshot, now: clock.now)
            return ("replace \(node) with \(snapshot.count)", events)
        }
    }

    /// A batch of 1–12 random joins (some without the member list), leaves, disconnects and renewals, applied as one
    /// group; the registry applies the same writes one at a time.
    static func batch(
        _ store: PostgresPresenceStore, _ registry: inout PresenceRegistry, clock: ManualClock, _ rng: inout SplitMix64
    ) async throws -> (String, [PresenceEvent]) {
        var writes: [PresenceWrite] = []
        for _ in 0..<Int.random(in: 1...12, using: &rng) {
            let (subscription, node) = try randomSubscription(&rng)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5: writes.append(.join(subscription, node: node, limits: limits, wantsPresence: Bool.random(using: &rng)))
            case 5..<8: writes.append(.leave(app: subscription.app, socketID: subscription.socketID, channel: subscription.channel))
            case 8: writes.append(.disconnect(app: subscription.app, socketID: subscription.socketID))
            default: writes.append(.renew(node))
            }
        }
        let label = "batch of \(writes.count): \(writes)"
        let results = try await store.apply(writes)
        var events: [PresenceEvent] = []
        for (index, (write, result)) in zip(writes, results).enumerated() {
            let expected = registry.apply(write, now: clock.now, events: &events)
            let members = (result.join?.presence).map(Self.members)
            let expectedMembers = (expected.join?.presence).map(Self.members)
            switch (result.join, expected.join) {
            case (nil, nil): break
            case (.joined(let added, _)?, .joined(let expectedAdded, _)?) where added == expectedAdded && members == expectedMembers: break
            case (.alreadySubscribed?, .alreadySubscribed?) where members == expectedMembers: break
            case (.refused(.membersFull)?, .refused(.membersFull)?): break
            default: Issue.record("\(label) op \(index): \(result) but the registry says \(expected)")
            }
        }
        return (label, events)
    }

    /// A snapshot's members as user id → user_info text, order-free.
    static func members(_ snapshot: PresenceSnapshot) -> [String: String] {
        guard case .object(let hash)? = (try? JSONValue.parse(snapshot.jsonText))?["hash"] else { return [:] }
        return hash.mapValues(\.jsonText)
    }

    static func randomSubscription(_ rng: inout SplitMix64) throws -> (Subscription, NodeID) {
        let channel = channels.randomElement(using: &rng)!
        let member =
            channel.hasPrefix("presence-")
            ? PresenceMember(userID: users.randomElement(using: &rng)!, userInfo: infos.randomElement(using: &rng)!)
            : nil
        let node = Int.random(in: 0..<10, using: &rng) == 0 ? "n3" : nodes[Int.random(in: 0..<2, using: &rng)]
        let subscription = try Subscription(
            app: apps.randomElement(using: &rng)!, socketID: try SocketID(validating: sockets.randomElement(using: &rng)!),
            channel: try ChannelName(validating: channel), member: member)
        return (subscription, try NodeID(validating: node))
    }

    /// The first difference between what `store` lists and the registry, or nil.
    static func compare(_ store: PostgresPresenceStore, _ registry: PresenceRegistry) async throws -> String? {
        for app in apps {
            for channel in channels {
                let listed = try await store.members(app: app, channel: channel, withUserInfo: true)
                let expected = registry.members(app: app, channel: channel)
                if Set(listed) != Set(expected) || listed.count != expected.count {
                    return "members of \(app)/\(channel) \(listed) but the registry says \(expected)"
                }
                let counts = try await store.counts(app: app, channel: channel)
                let expectedCounts = (registry.subscriptionCount(app: app, channel: channel), registry.userCount(app: app, channel: channel))
                if counts != expectedCounts { return "counts of \(app)/\(channel) \(counts), registry \(expectedCounts)" }
            }
            let summaries = try await store.channels(app: app, prefix: nil)
            if Set(summaries) != Set(registry.channels(app: app)) {
                return "channels of \(app) \(summaries) but the registry says \(registry.channels(app: app))"
            }
        }
        let statistics = try await store.statistics().presence
        if statistics != registry.statistics {
            return "statistics \(statistics) but the registry says \(registry.statistics)"
        }
        return nil
    }
}
