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
        /// A client event a relay delivered (apps whose webhooks list `client_event`).
        case clientEvent = "client_event"
        /// A subscriber of a cache channel found nothing cached (apps whose webhooks list `cache_miss`).
        case cacheMiss = "cache_miss"

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
    /// Further members of the event's JSON object, serialized without braces, which webhooks carry too:
    /// `"subscription_count":3`, or a client event's `"event":…,"data":…,"socket_id":…`.
    public let extra: String?
    /// `{"app":…,"channel":…,"user_id":…,"user_info":…}` with absent members omitted, then `extra`'s members.
    public let data: String

    /// - Parameter extra: Further JSON object members, already serialized (see ``extra``).
    public init(
        sequence: UInt64, kind: Kind, app: String, channel: String?, userID: String?, userInfo: JSONValue?, extra: String? = nil
    ) {
        self.init(sequence: sequence, kind: kind, app: app, channel: channel, userID: userID, userInfoJSON: userInfo?.jsonText, extra: extra)
    }

    /// - Parameters:
    ///   - userInfoJSON: The member's user_info as compact JSON text (``PresenceMember/userInfoJSON``).
    ///   - extra: Further JSON object members, already serialized (see ``extra``).
    public init(
        sequence: UInt64, kind: Kind, app: String, channel: String?, userID: String?, userInfoJSON: String?, extra: String? = nil
    ) {
        self.sequence = sequence
        self.kind = kind
        self.app = app
        self.channel = channel
        self.userID = userID
        self.extra = extra
        var text = #"{"app":"#
        text.reserveCapacity(
            64 + app.utf8.count + (channel?.utf8.count ?? 0) + (userID?.utf8.count ?? 0) + (userInfoJSON?.utf8.count ?? 0)
                + (extra?.utf8.count ?? 0))
        JSON.appendQuoted(app, to: &text)
        if let channel {
            text += #","channel":"#
            JSON.appendQuoted(channel, to: &text)
        }
        if let userID {
            text += #","user_id":"#
            JSON.appendQuoted(userID, to: &text)
        }
        if let userInfoJSON {
            text += #","user_info":"#
            text += userInfoJSON
        }
        if let extra {
            text += ","
            text += extra
        }
        text += "}"
        data = text
    }

    /// Logs a channel's subscription count.
    public init(sequence: UInt64, app: String, channel: String, subscriptionCount: Int) {
        self.init(
            sequence: sequence, kind: .subscriptionCount, app: app, channel: channel, userID: nil, userInfo: nil,
            extra: #""subscription_count":"# + String(subscriptionCount))
    }

    /// A client event's webhook members: `"event":…,"data":…,"socket_id":…` (the data as the client sent it, text).
    public static func clientEventExtra(event: String, data: String, socketID: String) -> String {
        #""event":"# + JSON.quoted(event) + #","data":"# + JSON.quoted(data) + #","socket_id":"# + JSON.quoted(socketID)
    }

    /// Logs a presence state-machine event at `sequence`.
    public init(sequence: UInt64, _ event: PresenceEvent) {
        self.init(sequence: sequence, kind: Kind(event), app: event.app, channel: event.channel, userID: event.userID, userInfoJSON: event.userInfoJSON)
    }
}
