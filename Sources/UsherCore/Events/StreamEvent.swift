public import UsherCrypto

/// One entry of the deployment's event log, as relays read it from `GET /relay/v1/events` and webhooks carry it.
///
/// `data` is the event's JSON text, built once when the event is logged, so every consumer sends the same bytes
/// without re-serializing.
public struct StreamEvent: Sendable, Hashable {
    /// What happened.
    public enum Kind: String, Sendable, Hashable {
        case memberAdded = "member_added"
        case memberRemoved = "member_removed"
        case channelOccupied = "channel_occupied"
        case channelVacated = "channel_vacated"
        case terminateConnections = "terminate_connections"
        /// A non-presence channel's subscription count changed (apps with `subscription_count: true`, throttled).
        case subscriptionCount = "subscription_count"
        /// A user's first signed-in connection appeared (the member of their `#server-to-user-<id>` channel).
        case userOnline = "user_online"
        /// A user's last signed-in connection went, after the leave grace (or at once with its node's lease).
        case userOffline = "user_offline"

        /// How the log names a registry event: member events of server-to-user channels are a user's online status.
        public init(_ event: PresenceEvent) {
            let isUser = event.channel.utf8.starts(with: ChannelKind.serverToUserPrefix.utf8)
            self =
                switch event.kind {
                case .memberAdded: isUser ? .userOnline : .memberAdded
                case .memberRemoved: isUser ? .userOffline : .memberRemoved
                case .channelOccupied: .channelOccupied
                case .channelVacated: .channelVacated
                }
        }
    }

    /// Position in the log; strictly increasing, never reused within one log.
    public let sequence: UInt64
    public let kind: Kind
    public let app: String
    /// The channel, for channel and member events.
    public let channel: String?
    /// The member (or, for `terminate_connections`, the user) concerned.
    public let userID: String?
    /// The cluster-wide subscription count, for `subscription_count`.
    public let subscriptionCount: Int?
    /// `{"app":…,"channel":…,"user_id":…,"user_info":…}` with absent members omitted; `subscription_count` events
    /// carry `{"app":…,"channel":…,"subscription_count":N}`.
    public let data: String

    public init(sequence: UInt64, kind: Kind, app: String, channel: String?, userID: String?, userInfo: JSONValue?) {
        self.sequence = sequence
        self.kind = kind
        self.app = app
        self.channel = channel
        self.userID = userID
        subscriptionCount = nil
        var text = #"{"app":"# + JSON.quoted(app)
        if let channel { text += #","channel":"# + JSON.quoted(channel) }
        if let userID { text += #","user_id":"# + JSON.quoted(userID) }
        if let userInfo { text += #","user_info":"# + userInfo.jsonText }
        data = text + "}"
    }

    /// Logs a channel's subscription count.
    public init(sequence: UInt64, app: String, channel: String, subscriptionCount: Int) {
        self.sequence = sequence
        kind = .subscriptionCount
        self.app = app
        self.channel = channel
        userID = nil
        self.subscriptionCount = subscriptionCount
        data = #"{"app":"# + JSON.quoted(app) + #","channel":"# + JSON.quoted(channel) + #","subscription_count":"#
            + String(subscriptionCount) + "}"
    }

    /// Logs a presence state-machine event at `sequence`.
    public init(sequence: UInt64, _ event: PresenceEvent) {
        self.init(sequence: sequence, kind: Kind(event), app: event.app, channel: event.channel, userID: event.userID, userInfo: event.userInfo)
    }
}
