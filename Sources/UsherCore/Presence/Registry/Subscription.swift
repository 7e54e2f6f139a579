/// One socket's subscription to one channel, as a relay reports it; keyed by app, socket id and channel.
///
/// Presence subscriptions carry the member from the verified channel_data; other kinds carry none.
public struct Subscription: Sendable, Hashable {
    /// The app id.
    public let app: String
    /// The relay's socket id.
    public let socketID: SocketID
    /// The channel subscribed to.
    public let channel: ChannelName
    /// The member, for presence channels; nil for every other kind.
    public let member: PresenceMember?

    /// Creates a subscription.
    ///
    /// - Throws: ``CoreError/invalidChannelData`` when a presence channel has no member, or another kind has one.
    public init(app: String, socketID: SocketID, channel: ChannelName, member: PresenceMember? = nil) throws(CoreError)
    {
        guard (channel.kind == .presence) == (member != nil) else { throw .invalidChannelData }
        self.app = app
        self.socketID = socketID
        self.channel = channel
        self.member = member
    }
}
