import UsherCrypto

/// The members of one presence channel, as sent in `pusher_internal:subscription_succeeded`.
public struct PresenceSnapshot: Sendable, Hashable {
    /// The members, each once, in the registry's listing order (no particular order is promised).
    public let members: [PresenceMember]

    /// Wraps a member list; stores that keep members elsewhere build snapshots with this.
    public init(members: [PresenceMember]) {
        self.members = members
    }

    /// The number of members.
    public var count: Int { members.count }

    /// The presence object `{"ids":[…],"hash":{"<id>":<user_info>},"count":N}`, compact.
    ///
    /// Ids are JSON strings; a member without user_info maps to `{}`, as pusher-js expects a key per member.
    public var jsonText: String {
        var ids = ""
        var hash = ""
        for (position, member) in members.enumerated() {
            let quoted = JSON.quoted(member.userID)
            if position > 0 {
                ids += ","
                hash += ","
            }
            ids += quoted
            hash += quoted + ":" + (member.userInfo?.jsonText ?? "{}")
        }
        return #"{"ids":["# + ids + #"],"hash":{"# + hash + #"},"count":"# + String(members.count) + "}"
    }
}
