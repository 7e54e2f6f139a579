import Synchronization
import UsherCore
import UsherCrypto
import UsherStore

/// A clock the test moves by hand: the store reads milliseconds from it, nothing sleeps.
final class ManualClock: Sendable {
    private let millis = Mutex<Int64>(0)

    /// The current reading.
    var now: Int64 { millis.withLock { $0 } }

    /// The reading as the store's injected `now`.
    var read: @Sendable () -> Int64 { { self.now } }

    /// Moves time forward by `delta` milliseconds.
    func advance(by delta: Int64) {
        millis.withLock { $0 += delta }
    }
}

/// A counter shared by concurrent tasks.
final class SharedCounter: Sendable {
    private let count = Mutex(0)

    var value: Int { count.withLock { $0 } }

    func increment() {
        count.withLock { $0 += 1 }
    }
}

/// Short builders for store tests: one app, readable socket, channel and node names.
enum StoreFixture {
    static let app = "app1"

    static func node(_ name: String) throws -> NodeID { try NodeID(validating: name) }

    static func socket(_ text: String) throws -> SocketID { try SocketID(validating: text) }

    static func channel(_ text: String) throws -> ChannelName { try ChannelName(validating: text) }

    /// A subscription; presence channels get member `user` (default "u1") with optional `info`.
    static func subscription(
        _ socket: String, _ channel: String, user: String = "u1", info: JSONValue? = nil, app: String = app
    ) throws -> Subscription {
        let name = try ChannelName(validating: channel)
        let member = name.kind == .presence ? PresenceMember(userID: user, userInfo: info) : nil
        return try Subscription(app: app, socketID: try SocketID(validating: socket), channel: name, member: member)
    }

    /// A bare event at `sequence`, for event log tests.
    static func event(_ sequence: UInt64, _ kind: StreamEvent.Kind = .memberAdded, user: String = "u") -> StreamEvent {
        StreamEvent(sequence: sequence, kind: kind, app: app, channel: "presence-room", userID: user, userInfo: nil)
    }
}

extension EventLog {
    /// Appends one `kind` event per user id, returning the sequence numbers the log gave them.
    @discardableResult
    func append(users: [String], kind: StreamEvent.Kind = .memberAdded) -> [UInt64] {
        append(users) { StoreFixture.event($0, kind, user: $1) }.map(\.sequence)
    }

    /// Every retained event, or nil on a gap.
    func all(after sequence: UInt64 = 0) -> [StreamEvent]? {
        if case .events(let events) = events(after: sequence, limit: .max) { return events }
        return nil
    }
}

extension MemoryPresenceStore {
    /// Joins with default limits (or `limits`) on node `node`.
    func join(_ subscription: Subscription, node: String = "n1", limits: PresenceLimits = PresenceLimits()) async throws
        -> JoinResult
    {
        try await join(subscription, node: try StoreFixture.node(node), limits: limits)
    }

    /// Events logged after `sequence`, as `kind user` strings (`kind channel` for channel events), for exact checks.
    nonisolated func summary(after sequence: UInt64 = 0) -> [String] {
        (log.all(after: sequence) ?? []).map { event in
            "\(event.kind.rawValue) \(event.userID ?? event.channel ?? "-")"
        }
    }
}

extension PresenceSnapshot {
    /// The member ids, sorted.
    var userIDs: [String] {
        guard case .array(let ids)? = (try? JSONValue.parse(jsonText))?["ids"] else { return [] }
        return ids.compactMap(\.stringValue).sorted()
    }

    /// The members as a user id → user_info JSON text map (order-free).
    var members: [String: String] {
        guard case .object(let hash)? = (try? JSONValue.parse(jsonText))?["hash"] else { return [:] }
        return hash.mapValues(\.jsonText)
    }
}

extension JoinResult {
    /// The presence snapshot as a user id → user_info JSON text map (order-free), or nil.
    var members: [String: String]? {
        let snapshot: PresenceSnapshot?
        switch self {
        case .joined(_, let presence), .alreadySubscribed(let presence): snapshot = presence
        case .refused: return nil
        }
        return snapshot?.members
    }
}
