/// Totals across all apps, for metrics.
public struct PresenceStatistics: Sendable, Hashable {
    /// Presence members, including those in grace.
    public var members = 0
    /// Occupied channels of any kind.
    public var channels = 0
    /// Distinct sockets with at least one subscription.
    public var sockets = 0
    /// Socket-channel subscriptions.
    public var subscriptions = 0
    /// Relay nodes holding a lease.
    public var nodes = 0

    /// Creates totals; all zero by default.
    public init(members: Int = 0, channels: Int = 0, sockets: Int = 0, subscriptions: Int = 0, nodes: Int = 0) {
        self.members = members
        self.channels = channels
        self.sockets = sockets
        self.subscriptions = subscriptions
        self.nodes = nodes
    }
}
