/// One socket's subscription to one channel, as a relay reports it; keyed by app, socket id and channel.
///
/// Presence subscriptions carry the member from the verified channel_data; a server-to-user channel's member is its
/// user (a signed-in connection, for online status); other kinds carry none.
public struct Subscription: Sendable, Hashable {
    /// The app id.
    public let app: String
    /// The relay's socket id.
    public let socketID: SocketID
    /// The channel subscribed to.
    public let channel: ChannelName
    /// The member, for presence and server-to-user channels; nil for every other kind.
    public let member: PresenceMember?

    /// Creates a subscription; a server-to-user channel's member is made from its name.
    ///
    /// - Throws: ``CoreError/invalidChannelData`` when a presence channel has no member, or another kind has one.
    public init(app: String, socketID: SocketID, channel: ChannelName, member: PresenceMember? = nil) throws(CoreError)
    {
        guard (channel.kind == .presence) == (member != nil) else { throw .invalidChannelData }
        self.app = app
        self.socketID = socketID
        self.channel = channel
        if case .serverToUser(let userID) = channel.kind {
            self.member = PresenceMember(userID: userID)
        } else {
            self.member = member
        }
    }
}
