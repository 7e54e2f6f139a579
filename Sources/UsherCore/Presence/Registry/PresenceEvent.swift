public import UsherCrypto

/// One change the registry reports, for the event log, relays and webhooks.
public struct PresenceEvent: Sendable, Hashable, CustomStringConvertible {
    /// What happened.
    public let kind: PresenceEventKind
    /// The app the channel belongs to.
    public let app: String
    /// The channel name.
    public let channel: String
    /// The member's user id, for member events; nil for channel events.
    public let userID: String?
    /// The member's user_info as compact JSON text, for `member_added` only (nil when the member has none).
    public let userInfoJSON: String?

    /// Creates an event; stores that read events back (e.g. from Postgres) use this.
    public init(
        kind: PresenceEventKind, app: String, channel: String, userID: String? = nil, userInfo: JSONValue? = nil
    ) {
        self.init(kind: kind, app: app, channel: channel, userID: userID, userInfoJSON: userInfo?.jsonText)
    }

    /// Creates an event whose user_info is already compact JSON text (a member's ``PresenceMember/userInfoJSON``).
    public init(kind: PresenceEventKind, app: String, channel: String, userID: String?, userInfoJSON: String?) {
        self.kind = kind
        self.app = app
        self.channel = channel
        self.userID = userID
        self.userInfoJSON = userInfoJSON
    }

    /// The member's user_info, parsed from its text.
    public var userInfo: JSONValue? {
        userInfoJSON.flatMap { try? JSONValue.parse($0) }
    }

    /// `kind app/channel [user_id] [user_info]`, for logs and test failures.
    public var description: String {
        var text = "\(kind.rawValue) \(app)/\(channel)"
        if let userID { text += " " + JSON.quoted(userID) }
        if let userInfoJSON { text += " " + userInfoJSON }
        return text
    }

    static func occupied(app: String, channel: String) -> PresenceEvent {
        PresenceEvent(kind: .channelOccupied, app: app, channel: channel)
    }

    static func vacated(app: String, channel: String) -> PresenceEvent {
        PresenceEvent(kind: .channelVacated, app: app, channel: channel)
    }

    static func added(app: String, channel: String, userID: String, userInfoJSON: String?) -> PresenceEvent {
        PresenceEvent(kind: .memberAdded, app: app, channel: channel, userID: userID, userInfoJSON: userInfoJSON)
    }

    static func removed(app: String, channel: String, userID: String) -> PresenceEvent {
        PresenceEvent(kind: .memberRemoved, app: app, channel: channel, userID: userID)
    }
}
