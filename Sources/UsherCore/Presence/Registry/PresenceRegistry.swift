/// The presence state machine: who is subscribed where, which users are members of each presence channel, which
/// relay node owns each socket, and the events every change causes.
///
/// A value type with no I/O and no clock: the owner (a store actor) passes `now` in milliseconds on its own monotonic
/// clock, publishes the returned events in order, and calls ``advance(now:)`` when ``nextDeadline`` comes.
///
/// ```swift
/// var registry = PresenceRegistry()
/// let outcome = registry.join(subscription, node: node, limits: app.limits, now: clock.millis)
/// publish(outcome.events)                         // channel_occupied, member_added
/// let text = registry.presence(app: "1", channel: "presence-room")?.jsonText
/// ```
///
/// Rules:
/// - Subscriptions are keyed by app, socket id and channel; repeating one is ``JoinOutcome/alreadySubscribed``.
/// - A user's first socket on a presence channel adds the member (keeping that socket's user_info until the user fully
///   leaves); the last socket leaving starts a grace period, and a rejoin within it causes no events at all.
/// - Each socket belongs to the last node that reported it; a node whose lease lapses loses its sockets at once,
///   without grace.
public struct PresenceRegistry: Sendable {
    /// The timing rules.
    public let configuration: Configuration

    var apps: [String: AppState] = [:]
    var ledger = Ledger()

    /// Creates an empty registry (after a restart, relay resyncs rebuild it through ``replaceNode(_:with:now:)``).
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// When a member whose last socket leaves at `now` is removed, or nil when grace is off.
    func graceDeadline(now: Int64) -> Int64? {
        configuration.graceMillis > 0 ? now + configuration.graceMillis : nil
    }

    /// Drops grace entries made stale by rejoins from the top of the queue, so ``nextDeadline`` is exact.
    mutating func pruneGrace(force: Bool = false) {
        guard force || ledger.graceTopMayBeStale else { return }
        while let top = ledger.grace.min, !(apps[top.app]?.isLive(top) ?? false) {
            ledger.grace.removeMin()
        }
        ledger.graceTopMayBeStale = false
    }
}
