/// One occupied channel in a listing.
public struct ChannelSummary: Sendable, Hashable {
    /// The channel name.
    public let name: String
    /// Sockets subscribed now (members in grace have none).
    public let subscriptionCount: Int
    /// Distinct members, including those in grace, for presence channels; nil for other kinds.
    public let userCount: Int?

    /// Creates a summary.
    public init(name: String, subscriptionCount: Int, userCount: Int?) {
        self.name = name
        self.subscriptionCount = subscriptionCount
        self.userCount = userCount
    }
}
