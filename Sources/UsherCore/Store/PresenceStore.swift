/// Where presence state and the event log live: in memory (one instance) or in PostgreSQL (several instances).
///
/// Every mutation is idempotent, keyed by (app, socket_id, channel), because relays retry. Events are appended to a
/// log with strictly increasing sequence numbers as part of the mutation that caused them.
public protocol PresenceStore: Sendable {
    /// Identifies this store's lifetime; a relay that sees it change must resync its sockets.
    var epoch: String { get }

    /// Applies joins, leaves, disconnects and lease renewals in order, in the store's next group commit (DESIGN.md,
    /// Stores): writes submitted while the previous group is applied go together as one unit (one transaction in
    /// PostgreSQL; in memory each submission is one hold of the store's lock). Each write's result and events are
    /// exactly those of applying it alone after the writes before it; a refused join does not stop the others.
    ///
    /// - Returns: One result per write, in order.
    func apply(_ writes: [PresenceWrite]) async throws -> [PresenceWriteResult]
    /// `apply`, with the results (or the error) passed to `complete` instead of awaited, on whatever thread applied
    /// them: a caller on an event loop needs no task of its own. By default a task awaits `apply`.
    func apply(_ writes: [PresenceWrite], complete: @escaping @Sendable (Result<[PresenceWriteResult], any Error>) -> Void)
    /// Renews a node's lease and records where its peers reach it (`forwardURL`; nil keeps what it announced
    /// before) and its open client connections per app (`connections`; nil keeps what it reported before); the
    /// lease lists the other live nodes that announced a forward URL, and the connections they reported, per app.
    func heartbeat(node: NodeID, forwardURL: String?, connections: [String: Int]?) async throws -> NodeLease
    /// Replaces everything known about a node with its full list of subscriptions.
    func replaceNode(_ node: NodeID, with subscriptions: [Subscription]) async throws
    /// Fires due grace periods and lease expiries; called periodically.
    func advance() async throws

    /// The presence object of a channel, `nil` when it has no members.
    func presence(app: String, channel: String) async throws -> PresenceSnapshot?
    /// A presence channel's members (ids only when `withUserInfo` is false, to keep large listings light).
    func members(app: String, channel: String, withUserInfo: Bool) async throws -> [PresenceMember]
    /// Occupied channels of an app, optionally filtered by name prefix.
    func channels(app: String, prefix: String?) async throws -> [ChannelSummary]
    /// Sockets subscribed to a channel and (for presence) its distinct users.
    func counts(app: String, channel: String) async throws -> (subscriptions: Int, users: Int)
    /// Which of `userIDs` are online in `app` (a signed-in connection on any node, or within the leave grace since
    /// the last one went), in the order given.
    func onlineUsers(app: String, among userIDs: [String]) async throws -> [String]
    /// Totals for metrics: members, channels, sockets, nodes.
    func statistics() async throws -> StoreStatistics
    /// Appends events that are not presence transitions (`terminate_connections`, relays' `client_event` and
    /// `cache_miss`), in order, as one unit.
    func append(_ events: [AppendedEvent]) async throws
    /// The non-presence channels whose subscription count this instance's writes (and sweeps) changed since the last
    /// call; each change is reported once. Instances sharing a store each report their own.
    func takeCountChanges() async -> Set<AppChannel>
    /// Logs one `subscription_count` event per channel, in order, with its deployment-wide subscription count now
    /// (0 for a vacated channel).
    func appendSubscriptionCounts(_ channels: [AppChannel]) async throws

    /// The log after `sequence`, at most `limit` events; `.gap` when entries after `sequence` were already dropped.
    func events(after sequence: UInt64, limit: Int) async throws -> EventPage
    /// Waits until the log holds an event after `sequence` or `timeout` passes; returns at once if it already does.
    func waitForEvents(after sequence: UInt64, timeout: Duration) async throws
    /// The newest sequence number (0 when empty).
    func latestSequence() async throws -> UInt64
    /// The oldest sequence number still retained (latest + 1 when the log is empty).
    func oldestRetainedSequence() async throws -> UInt64

    /// Claims, or renews, the right to deliver `app`'s webhooks for `leaseMillis`, so that of several instances
    /// sharing a store exactly one sends them. `nil` while another owner holds a live claim.
    func claimWebhooks(app: String, owner: String, leaseMillis: Int64) async throws -> WebhookClaim?
    /// Records that `app`'s webhooks are delivered up to `sequence` and renews the claim; `false` when `owner` no
    /// longer holds it (it lapsed and another instance took over).
    func recordWebhooks(app: String, owner: String, deliveredThrough sequence: UInt64, leaseMillis: Int64) async throws -> Bool
}

/// A store that applies writes without suspending (the memory store): the relay API's fast path applies a call on
/// the event loop that read it, with no hop to another thread.
public protocol ImmediatePresenceStore: PresenceStore {
    /// What `apply` does, on the caller's thread: one group, one result per write, in order.
    func applyImmediately(_ writes: [PresenceWrite]) -> [PresenceWriteResult]
}

extension PresenceStore {
    public func apply(_ writes: [PresenceWrite], complete: @escaping @Sendable (Result<[PresenceWriteResult], any Error>) -> Void) {
        Task {
            do { complete(.success(try await apply(writes))) } catch { complete(.failure(error)) }
        }
    }

    /// Subscribes a socket; for presence channels answers the member list including the new member.
    public func join(_ subscription: Subscription, node: NodeID, limits: PresenceLimits) async throws -> JoinResult {
        guard let result = try await apply([.join(subscription, node: node, limits: limits)])[0].join else {
            preconditionFailure("a store answered a join with a result of another kind")
        }
        return result
    }

    /// Unsubscribes a socket from one channel (no-op when unknown).
    public func leave(app: String, socketID: SocketID, channel: ChannelName) async throws {
        _ = try await apply([.leave(app: app, socketID: socketID, channel: channel)])
    }

    /// Removes a socket from every channel (no-op when unknown).
    public func disconnect(app: String, socketID: SocketID) async throws {
        _ = try await apply([.disconnect(app: app, socketID: socketID)])
    }
}

/// A granted webhook claim.
public struct WebhookClaim: Sendable, Hashable {
    /// Where the previous owner got to (every event up to it was delivered or skipped); `nil` when no owner ever
    /// recorded a position, so delivery starts with new events.
    public let deliveredThrough: UInt64?

    public init(deliveredThrough: UInt64?) {
        self.deliveredThrough = deliveredThrough
    }
}

/// What a join did.
public enum JoinResult: Sendable, Hashable {
    /// Subscribed; `presence` holds the channel's members for presence channels.
    case joined(memberAdded: Bool, presence: PresenceSnapshot?)
    /// The same subscription already existed (a retry); `presence` is the current member list.
    case alreadySubscribed(presence: PresenceSnapshot?)
    /// Refused by a limit.
    case refused(JoinRefusal)

    /// The member list the join answered, if any.
    public var presence: PresenceSnapshot? {
        switch self {
        case .joined(_, let presence), .alreadySubscribed(let presence): presence
        case .refused: nil
        }
    }
}

/// A node's lease as granted by a heartbeat.
public struct NodeLease: Sendable, Hashable {
    /// The store's epoch; when it differs from what the node saw before, the node must resync.
    public let epoch: String
    /// How long the lease lasts without another heartbeat.
    public let leaseMillis: Int64
    /// The node held no live lease (new, or its lease lapsed and its sockets were dropped): it must resync now,
    /// even though the epoch did not change.
    public let resync: Bool
    /// The other nodes holding a live lease that announced where peers reach them, by node id (heartbeats only).
    public let peers: [NodePeer]
    /// Client connections per app on the other nodes holding a live lease, as they last reported them (heartbeats
    /// only): with its own, a node knows an app's deployment-wide count (per-app connection quotas).
    public let connections: [String: Int]

    public init(epoch: String, leaseMillis: Int64, resync: Bool = false, peers: [NodePeer] = [], connections: [String: Int] = [:]) {
        self.epoch = epoch
        self.leaseMillis = leaseMillis
        self.resync = resync
        self.peers = peers
        self.connections = connections
    }
}

extension PresenceStore {
    /// A heartbeat that reports no connection counts (keeps the node's last report).
    public func heartbeat(node: NodeID, forwardURL: String?) async throws -> NodeLease {
        try await heartbeat(node: node, forwardURL: forwardURL, connections: nil)
    }
}

/// A live relay node and the URL its peers forward published events to.
public struct NodePeer: Sendable, Hashable {
    public let node: NodeID
    public let forwardURL: String

    public init(node: NodeID, forwardURL: String) {
        self.node = node
        self.forwardURL = forwardURL
    }
}

/// A page of the event log.
public enum EventPage: Sendable {
    /// Events in sequence order (possibly empty: nothing new yet).
    case events([StreamEvent])
    /// The requested position is older than the retained log: the consumer must refetch state.
    case gap(latest: UInt64)
}

/// Totals a store reports for metrics.
public struct StoreStatistics: Sendable, Hashable {
    /// Members, channels, sockets, subscriptions and nodes right now.
    public var presence: PresenceStatistics
    /// Node leases that lapsed since the store started.
    public var leaseExpiries: Int
    /// Events ever logged, by kind.
    public var eventsByKind: [StreamEvent.Kind: Int]

    public init(presence: PresenceStatistics, leaseExpiries: Int, eventsByKind: [StreamEvent.Kind: Int]) {
        self.presence = presence
        self.leaseExpiries = leaseExpiries
        self.eventsByKind = eventsByKind
    }
}
