public import UsherCrypto

/// One member of a presence channel: a user id and the user_info of the user's first socket.
///
/// Members are deduplicated on the string form of the user id; many sockets with one id are one member.
public struct PresenceMember: Sendable, Hashable {
    /// The user id, the key that deduplicates members (a numeric id is its JSON text, e.g. `"10"`).
    public let userID: String
    /// The user_info object, or nil when channel_data had none.
    public let userInfo: JSONValue?

    /// Creates a member.
    ///
    /// - Parameters:
    ///   - userID: The member's id; ``ChannelData/parse(_:limits:)`` has already checked its length.
    ///   - userInfo: The member's user_info object, if any.
    public init(userID: String, userInfo: JSONValue? = nil) {
        self.userID = userID
        self.userInfo = userInfo
    }
}
