public import UsherCore
import UsherCrypto

/// The embedded default store: presence state and the event log in this process.
///
/// State is lost on restart by design: the new epoch makes every relay resync its sockets on its next heartbeat,
/// which rebuilds the registry (DESIGN.md, Stores).
public actor MemoryPresenceStore: PresenceStore {
    public nonisolated let epoch: String
    private var registry: PresenceRegistry
    /// The log is shared with readers directly, so SSE streams never queue behind this actor.
    public nonisolated let log: EventLog
    private let now: @Sendable () -> Int64
    private let leaseMillis: Int64
    private var leaseExpiries = 0
    /// Groups concurrent writes into one actor turn each.
    private nonisolated let commit = GroupCommit<PresenceWrite, PresenceWriteResult>()
    /// Delivery positions of webhook senders (one process: every claim is granted).
    private var webhookPositions: [String: UInt64] = [:]

    /// - Parameters:
    ///   - configuration: Grace and lease durations.
    ///   - logCapacity: Events retained for `Last-Event-ID` resumption.
    ///   - now: Monotonic milliseconds; injected so tests control time.
    public init(
        configuration: PresenceRegistry.Configuration = .init(), logCapacity: Int = 10_000,
        now: @escaping @Sendable () -> Int64 = MonotonicClock.milliseconds
    ) {
        epoch = Hex.encode(SecureRandom.bytes(count: 8))
        registry = PresenceRegistry(configuration: configuration)
        log = EventLog(capacity: logCapacity)
        self.now = now
        leaseMillis = configuration.leaseMillis
    }

    public nonisolated func apply(_ writes: [PresenceWrite]) async throws -> [PresenceWriteResult] {
        try await commit.submit(writes) { group in await self.applyGroup(group) }
    }

    /// Applies one group in one actor turn, logging its events together.
    private func applyGroup(_ writes: [PresenceWrite]) -> [PresenceWriteResult] {
        let now = now()
        var events: [PresenceEvent] = []
        let results = writes.map { registry.apply($0, now: now, events: &events) }
        record(events)
        return results
    }

    public func heartbeat(node: NodeID) -> NodeLease {
        let known = registry.heartbeat(node: node, now: now())
        return NodeLease(epoch: epoch, leaseMillis: leaseMillis, resync: !known)
    }

    public func replaceNode(_ node: NodeID, with subscriptions: [Subscription]) {
        record(registry.replaceNode(node, with: subscriptions, now: now()))
    }

    public func advance() {
        let nodesBefore = registry.statistics.nodes
        record(registry.advance(now: now()))
        // Nodes are forgotten only when their lease lapses, so the drop in count is the number of expiries.
        leaseExpiries += nodesBefore - registry.statistics.nodes
    }

    public func presence(app: String, channel: String) -> PresenceSnapshot? {
        registry.presence(app: app, channel: channel)
    }

    public func members(app: String, channel: String, withUserInfo: Bool) -> [PresenceMember] {
        withUserInfo
            ? registry.members(app: app, channel: channel)
            : registry.userIDs(app: app, channel: channel).map { PresenceMember(userID: $0) }
    }

    public func channels(app: String, prefix: String?) -> [ChannelSummary] {
        registry.channels(app: app, prefix: prefix)
    }

    public func counts(app: String, channel: String) -> (subscriptions: Int, users: Int) {
        (registry.subscriptionCount(app: app, channel: channel), registry.userCount(app: app, channel: channel))
    }

    public func append(kind: StreamEvent.Kind, app: String, userID: String) {
        log.append([kind]) { StreamEvent(sequence: $0, kind: $1, app: app, channel: nil, userID: userID, userInfo: nil) }
    }

    public nonisolated func events(after sequence: UInt64, limit: Int) -> EventPage {
        log.events(after: sequence, limit: limit)
    }

    public nonisolated func waitForEvents(after sequence: UInt64, timeout: Duration) async {
        await log.wait(after: sequence, timeout: timeout)
    }

    public nonisolated func latestSequence() -> UInt64 { log.latest }

    public nonisolated func oldestRetainedSequence() -> UInt64 { log.oldestRetained }

    public func statistics() -> StoreStatistics { StoreStatistics(presence: registry.statistics, leaseExpiries: leaseExpiries, eventsByKind: log.countsByKind) }

    public func claimWebhooks(app: String, owner: String, leaseMillis: Int64) -> WebhookClaim? {
        WebhookClaim(deliveredThrough: webhookPositions[app])
    }

    public func recordWebhooks(app: String, owner: String, deliveredThrough sequence: UInt64, leaseMillis: Int64) -> Bool {
        webhookPositions[app] = sequence
        return true
    }

    private func record(_ events: [PresenceEvent]) {
        log.append(events) { StreamEvent(sequence: $0, $1) }
    }
}

/// Milliseconds on the process's monotonic clock (never jumps with wall-clock changes).
public enum MonotonicClock {
    private static let origin = ContinuousClock.now

    /// Milliseconds since the first use in this process.
    @Sendable public static func milliseconds() -> Int64 {
        let elapsed = ContinuousClock.now - origin
        return elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }
}
