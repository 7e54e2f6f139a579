public import UsherCrypto

/// One member of a presence channel: a user id and the user_info of the user's first socket.
///
/// Members are deduplicated on the string form of the user id; many sockets with one id are one member. The user_info
/// is kept as its compact JSON text (sorted keys, as ``JSONValue/jsonText`` writes it): every consumer — member lists,
/// `member_added` events, the PostgreSQL rows — sends or stores that text, so it is made once, when the member is read.
public struct PresenceMember: Sendable, Hashable {
    /// The user id, the key that deduplicates members (a numeric id is its JSON text, e.g. `"10"`).
    public let userID: String
    /// The user_info as compact JSON text, or nil when channel_data had none.
    public let userInfoJSON: String?

    /// Creates a member.
    ///
    /// - Parameters:
    ///   - userID: The member's id; ``ChannelData/parse(_:limits:)`` has already checked its length.
    ///   - userInfo: The member's user_info object, if any.
    public init(userID: String, userInfo: JSONValue? = nil) {
        self.userID = userID
        userInfoJSON = userInfo?.jsonText
    }

    /// Creates a member from user_info text already in compact form (``JSONValue/jsonText``, or a store's row of it).
    public init(userID: String, userInfoJSON: String?) {
        self.userID = userID
        self.userInfoJSON = userInfoJSON
    }

    /// The user_info object, parsed from its text (nil when there is none).
    public var userInfo: JSONValue? {
        userInfoJSON.flatMap { try? JSONValue.parse($0) }
    }
}
