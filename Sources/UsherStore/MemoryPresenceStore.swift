import Synchronization
public import UsherCore
import UsherCrypto

/// The embedded default store: presence state and the event log in this process.
///
/// State is lost on restart by design: the new epoch makes every relay resync its sockets on its next heartbeat,
/// which rebuilds the registry (DESIGN.md, Stores).
///
/// A `Mutex` rather than an actor: a group of writes is applied under the lock on the caller's own thread, so a
/// relay call answered on the event loop (`applyImmediately`) costs no hop to another thread, and async callers no
/// actor hop. The lock is held for the registry's work only (about a microsecond per write), so writes that
/// arrive together wait on it briefly instead of queueing for a group commit.
public final class MemoryPresenceStore: ImmediatePresenceStore {
    private struct State {
        var registry: PresenceRegistry
        var leaseExpiries = 0
        /// Delivery positions of webhook senders (one process: every claim is granted).
        var webhookPositions: [String: UInt64] = [:]
        /// Where each node's peers reach it, as its heartbeats announced.
        var forwardURLs: [NodeID: String] = [:]
        /// Client connections per app each node last reported.
        var connections: [NodeID: [String: Int]] = [:]
    }

    public let epoch: String
    private let state: Mutex<State>
    /// The log is shared with readers directly, so SSE streams never wait for presence writes.
    public let log: EventLog
    private let now: @Sendable () -> Int64
    private let leaseMillis: Int64

    /// - Parameters:
    ///   - configuration: Grace and lease durations.
    ///   - logCapacity: Events retained for `Last-Event-ID` resumption.
    ///   - now: Monotonic milliseconds; injected so tests control time.
    public init(
        configuration: PresenceRegistry.Configuration = .init(), logCapacity: Int = 10_000,
        now: @escaping @Sendable () -> Int64 = MonotonicClock.milliseconds
    ) {
        epoch = Hex.encode(SecureRandom.bytes(count: 8))
        state = Mutex(State(registry: PresenceRegistry(configuration: configuration)))
        log = EventLog(capacity: logCapacity)
        self.now = now
        leaseMillis = configuration.leaseMillis
    }

    public func apply(_ writes: [PresenceWrite]) -> [PresenceWriteResult] {
        applyImmediately(writes)
    }

    /// Applies the writes as one group under the lock, logging their events together.
    public func applyImmediately(_ writes: [PresenceWrite]) -> [PresenceWriteResult] {
        state.withLock { state in
            let now = now()
            var events: [PresenceEvent] = []
            let results = writes.map { state.registry.apply($0, now: now, events: &events) }
            record(events)
            return results
        }
    }

    public func heartbeat(node: NodeID, forwardURL: String? = nil, connections: [String: Int]? = nil) -> NodeLease {
        let (known, peers, elsewhere) = state.withLock { state in
            let now = now()
            let known = state.registry.heartbeat(node: node, now: now)
            if let forwardURL { state.forwardURLs[node] = forwardURL }
            if let connections { state.connections[node] = connections }
            let live = Set(state.registry.liveNodes(now: now))
            // Nodes whose lease lapsed are forgotten, so a node restarted elsewhere announces afresh.
            state.forwardURLs = state.forwardURLs.filter { live.contains($0.key) }
            state.connections = state.connections.filter { live.contains($0.key) }
            let peers = state.forwardURLs.filter { $0.key != node }.map { NodePeer(node: $0.key, forwardURL: $0.value) }
            var elsewhere: [String: Int] = [:]
            for (other, counts) in state.connections where other != node {
                elsewhere.merge(counts, uniquingKeysWith: +)
            }
            return (known, peers.sorted { $0.node < $1.node }, elsewhere)
        }
        return NodeLease(epoch: epoch, leaseMillis: leaseMillis, resync: !known, peers: peers, connections: elsewhere)
    }

    public func replaceNode(_ node: NodeID, with subscriptions: [Subscription]) {
        state.withLock { state in record(state.registry.replaceNode(node, with: subscriptions, now: now())) }
    }

    public func advance() {
        state.withLock { state in
            let nodesBefore = state.registry.statistics.nodes
            record(state.registry.advance(now: now()))
            // Nodes are forgotten only when their lease lapses, so the drop in count is the number of expiries.
            state.leaseExpiries += nodesBefore - state.registry.statistics.nodes
        }
    }

    public func presence(app: String, channel: String) -> PresenceSnapshot? {
        state.withLock { $0.registry.presence(app: app, channel: channel) }
    }

    public func members(app: String, channel: String, withUserInfo: Bool) -> [PresenceMember] {
        state.withLock { state in
            withUserInfo
                ? state.registry.members(app: app, channel: channel)
                : state.registry.userIDs(app: app, channel: channel).map { PresenceMember(userID: $0) }
        }
    }

    public func channels(app: String, prefix: String?) -> [ChannelSummary] {
        state.withLock { $0.registry.channels(app: app, prefix: prefix) }
    }

    public func counts(app: String, channel: String) -> (subscriptions: Int, users: Int) {
        state.withLock { ($0.registry.subscriptionCount(app: app, channel: channel), $0.registry.userCount(app: app, channel: channel)) }
    }

    public func onlineUsers(app: String, among userIDs: [String]) -> [String] {
        state.withLock { state in
            userIDs.filter { state.registry.userCount(app: app, channel: ChannelKind.serverToUserChannel($0)) > 0 }
        }
    }

    public func append(_ events: [AppendedEvent]) {
        // Under the lock, so the events take their place in the one order of presence events.
        state.withLock { _ in
            _ = log.append(events) { $1.logged(at: $0) }
        }
    }

    public func takeCountChanges() -> Set<AppChannel> {
        state.withLock { $0.registry.takeCountChanges() }
    }

    public func appendSubscriptionCounts(_ channels: [AppChannel]) {
        state.withLock { state in
            _ = log.append(channels) {
                StreamEvent(
                    sequence: $0, app: $1.app, channel: $1.channel,
                    subscriptionCount: state.registry.subscriptionCount(app: $1.app, channel: $1.channel))
            }
        }
    }

    public func events(after sequence: UInt64, limit: Int) -> EventPage {
        log.events(after: sequence, limit: limit)
    }

    public func waitForEvents(after sequence: UInt64, timeout: Duration) async {
        await log.wait(after: sequence, timeout: timeout)
    }

    public func latestSequence() -> UInt64 { log.latest }

    public func oldestRetainedSequence() -> UInt64 { log.oldestRetained }

    public func statistics() -> StoreStatistics {
        state.withLock { StoreStatistics(presence: $0.registry.statistics, leaseExpiries: $0.leaseExpiries, eventsByKind: log.countsByKind) }
    }

    public func claimWebhooks(app: String, owner: String, leaseMillis: Int64) -> WebhookClaim? {
        state.withLock { WebhookClaim(deliveredThrough: $0.webhookPositions[app]) }
    }

    public func recordWebhooks(app: String, owner: String, deliveredThrough sequence: UInt64, leaseMillis: Int64) -> Bool {
        state.withLock { $0.webhookPositions[app] = sequence }
        return true
    }

    /// Logs events in the order the registry made them; callers hold the lock.
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
