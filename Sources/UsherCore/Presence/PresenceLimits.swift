import UsherCrypto

/// Per-app limits on presence members, with the hosted Pusher values as defaults.
public struct PresenceLimits: Sendable, Hashable {
    /// Distinct users per presence channel; a further socket of an existing member never counts.
    public var maxMembers: Int
    /// UTF-8 bytes of a member's compact user_info JSON text.
    public var maxUserInfoBytes: Int
    /// Unicode scalars in a user id.
    public var maxUserIDLength: Int

    /// Creates limits; every argument defaults to the hosted Pusher value.
    public init(maxMembers: Int = 100, maxUserInfoBytes: Int = 1024, maxUserIDLength: Int = 128) {
        self.maxMembers = maxMembers
        self.maxUserInfoBytes = maxUserInfoBytes
        self.maxUserIDLength = maxUserIDLength
    }

    /// A bound on raw channel_data text checked before parsing, so hostile input costs little.
    ///
    /// Generous on purpose: Python's `json.dumps` writes non-ASCII as `\uXXXX` escapes (at most 3× the UTF-8 bytes)
    /// and adds spaces, so the real limits are checked after parsing.
    var maxChannelDataBytes: Int {
        4 * (maxUserInfoBytes + maxUserIDLength) + 1024
    }

    /// Throws unless `userID` is non-empty and at most ``maxUserIDLength`` scalars.
    func check(userID: String) throws(CoreError) {
        guard !userID.isEmpty else { throw .missingUserID }
        // Scalars rather than Characters: one grapheme can hold unboundedly many combining scalars.
        guard userID.unicodeScalars.count <= maxUserIDLength else { throw .userIDTooLong }
    }

    /// Throws unless `userInfo` is an object whose compact JSON text fits ``maxUserInfoBytes``; returns that text.
    func check(userInfo: JSONValue) throws(CoreError) -> String {
        guard case .object = userInfo else { throw .invalidUserInfo }
        let text = userInfo.jsonText
        guard text.utf8.count <= maxUserInfoBytes else { throw .userInfoTooLarge }
        return text
    }
}
