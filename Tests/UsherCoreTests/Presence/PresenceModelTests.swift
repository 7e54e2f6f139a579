import Testing
import UsherCore
import UsherCrypto
import UsherTestSupport

/// Drives `PresenceRegistry` and `PresenceModel` with the same random operations and compares them after every step.
@Suite struct PresenceModelTests {
    static let apps = ["a1", "a2"]
    static let nodes = ["n1", "n2", "n3"]
    static let sockets = (1...8).map { "1.\($0)" }
    static let channels = ["presence-x", "presence-y", "private-z", "pub"]
    static let users = ["u1", "u2", "u3", "u4", "u5"]
    static let infos: [JSONValue?] = [nil, .object(["n": .integer(1)]), .object(["n": .string("ü")]), .object([:])]
    static let maxMembers = 3

    /// Fixed seeds for reproducibility, plus one fresh seed per run (printed with any failure).
    static let seeds: [UInt64] = [1, 2, 3, 0xDEAD_BEEF, UInt64.random(in: 0...UInt64.max)]

    @Test("random operations match the reference model, with grace", arguments: seeds)
    func withGrace(seed: UInt64) throws {
        try run(seed: seed, graceMillis: 1000, steps: 3000)
    }

    @Test("random operations match the reference model, without grace", arguments: seeds.prefix(2))
    func withoutGrace(seed: UInt64) throws {
        try run(seed: seed, graceMillis: 0, steps: 3000)
    }

    func run(seed: UInt64, graceMillis: Int64, steps: Int) throws {
        var rng = SplitMix64(seed: seed)
        var registry = PresenceRegistry(configuration: .init(graceMillis: graceMillis, leaseMillis: 2000))
        var model = PresenceModel(graceMillis: graceMillis, leaseMillis: 2000)
        let limits = PresenceLimits(maxMembers: Self.maxMembers)
        var now: Int64 = 0
        var lastJoin: PresenceModel.Row?

        for step in 0..<steps {
            let roll = Int.random(in: 0..<100, using: &rng)
            let label: String
            let actual: [PresenceEvent]
            let expected: [PresenceEvent]
            switch roll {
            case 0..<45:
                let row = roll < 5 && lastJoin != nil ? lastJoin! : Self.randomRow(&rng)
                lastJoin = row
                label = "join \(row.app) \(row.socket) \(row.channel) \(row.user ?? "-") on \(row.node)"
                let outcome = registry.join(
                    try Self.subscription(row), node: try NodeID(validating: row.node), limits: limits, now: now)
                let modelOutcome = model.join(row, maxMembers: Self.maxMembers, now: now)
                guard Self.same(outcome, modelOutcome) else {
                    Issue.record("seed \(seed) step \(step) \(label): \(outcome) but the model says \(modelOutcome)")
                    return
                }
                (actual, expected) = (outcome.events, modelOutcome.events)
            case 45..<60:
                let (app, socket, channel) = Self.pickSubscription(model, &rng)
                label = "leave \(app) \(socket) \(channel)"
                actual = registry.leave(
                    app: app, socketID: try SocketID(validating: socket), channel: try ChannelName(validating: channel),
                    now: now)
                expected = model.leave(app, socket, channel, now: now)
            case 60..<66:
                let (app, socket, _) = Self.pickSubscription(model, &rng)
                label = "disconnect \(app) \(socket)"
                actual = registry.disconnect(app: app, socketID: try SocketID(validating: socket), now: now)
                expected = model.disconnect(app, socket, now: now)
            case 66..<74:
                let node = Self.nodes.randomElement(using: &rng)!
                label = "heartbeat \(node)"
                registry.heartbeat(node: try NodeID(validating: node), now: now)
                model.leases[node] = now + model.leaseMillis
                (actual, expected) = ([], [])
            case 74..<95:
                // Whole tenths of a second, so grace and lease deadlines often tie.
                now +=
                    100 * (roll == 94 ? Int64.random(in: 30...90, using: &rng) : Int64.random(in: 0...7, using: &rng))
                label = "advance to \(now)"
                actual = registry.advance(now: now)
                expected = model.advance(now: now)
            default:
                let node = Self.nodes.randomElement(using: &rng)!
                let snapshot = Self.snapshot(of: node, in: model, &rng)
                label = "replace \(node) with \(snapshot.count) subscriptions"
                actual = registry.replaceNode(
                    try NodeID(validating: node), with: try snapshot.map(Self.subscription), now: now)
                expected = model.replaceNode(node, with: snapshot, now: now)
            }
            if let mismatch = Self.compare(&registry, model, actual: actual, expected: expected) {
                Issue.record("seed \(seed) step \(step) \(label): \(mismatch)")
                return
            }
        }
    }

    static func randomRow(_ rng: inout SplitMix64) -> PresenceModel.Row {
        let channel = channels.randomElement(using: &rng)!
        let presence = PresenceModel.isPresence(channel)
        return PresenceModel.Row(
            app: apps.randomElement(using: &rng)!, socket: sockets.randomElement(using: &rng)!, channel: channel,
            node: Int.random(in: 0..<10, using: &rng) == 0 ? "n3" : nodes[Int.random(in: 0..<2, using: &rng)],
            user: presence ? users.randomElement(using: &rng)! : nil,
            info: presence ? infos.randomElement(using: &rng)! : nil)
    }

    /// An existing subscription most of the time, otherwise a random (probably unknown) one.
    static func pickSubscription(_ model: PresenceModel, _ rng: inout SplitMix64) -> (String, String, String) {
        if !model.rows.isEmpty, Int.random(in: 0..<10, using: &rng) < 8 {
            let row = model.rows.randomElement(using: &rng)!
            return (row.app, row.socket, row.channel)
        }
        let row = randomRow(&rng)
        return (row.app, row.socket, row.channel)
    }

    /// The node's rows with some dropped and a few new ones added, shuffled.
    static func snapshot(of node: String, in model: PresenceModel, _ rng: inout SplitMix64) -> [PresenceModel.Row] {
        var rows = model.rows.filter { $0.node == node && Int.random(in: 0..<4, using: &rng) > 0 }
        for _ in 0..<Int.random(in: 0...3, using: &rng) {
            var row = randomRow(&rng)
            row.node = node
            rows.append(row)
        }
        rows.shuffle(using: &rng)
        return rows
    }

    static func subscription(_ row: PresenceModel.Row) throws -> Subscription {
        try Subscription(
            app: row.app, socketID: try SocketID(validating: row.socket),
            channel: try ChannelName(validating: row.channel),
            member: row.user.map { PresenceMember(userID: $0, userInfo: row.info) })
    }

    static func same(_ outcome: JoinOutcome, _ model: PresenceModel.Outcome) -> Bool {
        switch (outcome, model) {
        case (.alreadySubscribed, .already), (.refused(.membersFull), .refused): true
        case (.joined(let added, let events), .joined(let expected)):
            events == expected && added == expected.contains { $0.kind == .memberAdded }
        default: false
        }
    }

    /// The first difference between registry and model, or nil.
    static func compare(
        _ registry: inout PresenceRegistry, _ model: PresenceModel, actual: [PresenceEvent], expected: [PresenceEvent]
    ) -> String? {
        if actual != expected { return "events \(actual) but the model says \(expected)" }
        for app in apps {
            for channel in channels {
                let listed = registry.members(app: app, channel: channel)
                var members: [String: JSONValue?] = [:]
                for member in listed { members[member.userID] = .some(member.userInfo) }
                let expectedMembers = model.members(app, channel)
                if members != expectedMembers || listed.count != expectedMembers.count {
                    return "members of \(app)/\(channel) \(listed) but the model says \(expectedMembers)"
                }
                if Set(registry.userIDs(app: app, channel: channel)) != Set(expectedMembers.keys) {
                    return "user ids of \(app)/\(channel)"
                }
                if registry.userCount(app: app, channel: channel) != expectedMembers.count {
                    return "user count of \(app)/\(channel)"
                }
                if registry.presence(app: app, channel: channel)?.count != (listed.isEmpty ? nil : listed.count) {
                    return "presence snapshot of \(app)/\(channel)"
                }
                // The cached listing (built here, then kept across steps) must say what the members say.
                let cached = registry.cachedPresence(app: app, channel: channel)
                var hash: [String: String] = [:]
                if let cached, case .object(let parsed)? = (try? JSONValue.parse(cached.jsonText))?["hash"] {
                    hash = parsed.mapValues(\.jsonText)
                }
                if hash != expectedMembers.mapValues({ $0?.jsonText ?? "{}" }) || (cached?.count ?? 0) != expectedMembers.count {
                    return "cached presence of \(app)/\(channel) \(cached?.jsonText ?? "nil") but the model says \(expectedMembers)"
                }
                if registry.subscriptionCount(app: app, channel: channel) != model.sockets(app, channel) {
                    return "subscription count of \(app)/\(channel)"
                }
            }
            let summaries = model.channelSummaries(app)
            if Set(registry.channels(app: app)) != summaries || registry.channels(app: app).count != summaries.count {
                return "channels of \(app) \(registry.channels(app: app)) but the model says \(summaries)"
            }
            if Set(registry.channels(app: app, prefix: "presence-"))
                != summaries.filter({ $0.name.hasPrefix("presence-") })
            {
                return "presence channels of \(app)"
            }
        }
        if registry.nextDeadline != model.nextDeadline {
            return
                "next deadline \(String(describing: registry.nextDeadline))"
                + " but the model says \(String(describing: model.nextDeadline))"
        }
        if registry.statistics != model.statistics {
            return "statistics \(registry.statistics) but the model says \(model.statistics)"
        }
        return nil
    }
}
