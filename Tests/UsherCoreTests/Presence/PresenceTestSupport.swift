import UsherCore
import UsherCrypto

/// Short builders for presence state-machine tests: one app, readable socket and channel names.
enum PresenceFixture {
    static let app = "app1"
    static let limits = PresenceLimits()

    static func node(_ name: String) throws -> NodeID {
        try NodeID(validating: name)
    }

    /// A subscription; presence channels get a member `user` (default "u1") with optional `info`.
    static func subscription(
        _ socket: String, _ channel: String, user: String? = nil, info: JSONValue? = nil, app: String = app
    ) throws -> Subscription {
        let name = try ChannelName(validating: channel)
        let member = name.kind == .presence ? PresenceMember(userID: user ?? "u1", userInfo: info) : nil
        return try Subscription(app: app, socketID: try SocketID(validating: socket), channel: name, member: member)
    }

    static func socket(_ text: String) throws -> SocketID {
        try SocketID(validating: text)
    }

    static func channel(_ text: String) throws -> ChannelName {
        try ChannelName(validating: text)
    }

    static func occupied(_ channel: String, app: String = app) -> PresenceEvent {
        PresenceEvent(kind: .channelOccupied, app: app, channel: channel)
    }

    static func vacated(_ channel: String, app: String = app) -> PresenceEvent {
        PresenceEvent(kind: .channelVacated, app: app, channel: channel)
    }

    static func added(_ channel: String, _ user: String, _ info: JSONValue? = nil, app: String = app) -> PresenceEvent {
        PresenceEvent(kind: .memberAdded, app: app, channel: channel, userID: user, userInfo: info)
    }

    static func removed(_ channel: String, _ user: String, app: String = app) -> PresenceEvent {
        PresenceEvent(kind: .memberRemoved, app: app, channel: channel, userID: user)
    }
}

extension PresenceRegistry {
    /// Joins with the default limits on node "n1" (or `node`), for tests that do not care about them.
    mutating func join(
        _ subscription: Subscription, node: String = "n1", limits: PresenceLimits = PresenceFixture.limits, now: Int64
    ) throws -> JoinOutcome {
        join(subscription, node: try PresenceFixture.node(node), limits: limits, now: now)
    }

    /// Leaves `channel` for `socket` in the fixture app.
    mutating func leave(_ socket: String, _ channel: String, app: String = PresenceFixture.app, now: Int64) throws
        -> [PresenceEvent]
    {
        leave(
            app: app, socketID: try PresenceFixture.socket(socket), channel: try PresenceFixture.channel(channel),
            now: now)
    }

    /// Members as a user id → user_info map, for order-free comparisons.
    func memberMap(_ channel: String, app: String = PresenceFixture.app) -> [String: JSONValue?] {
        Dictionary(uniqueKeysWithValues: members(app: app, channel: channel).map { ($0.userID, $0.userInfo) })
    }
}
