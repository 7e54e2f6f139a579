public import UsherCrypto

/// Builds the `user_data` JSON text signed for `pusher:signin`: `{"id":…,"user_info":{…},"watchlist":[…]}`.
public enum UserData {
    /// The most watchlist entries Pusher accepts.
    public static let maxWatchlistCount = 100

    /// Builds compact user_data, e.g. `{"id":"12345","user_info":{"name":"Ann"},"watchlist":["7"]}`.
    ///
    /// - Parameters:
    ///   - userID: The signed-in user's id; a non-empty string.
    ///   - userInfo: An optional JSON object; omitted when nil.
    ///   - watchlist: Optional user ids whose online status the user follows; omitted when nil.
    ///   - limits: Reused for the user id length and user_info size.
    /// - Throws: ``CoreError/missingUserID``, ``CoreError/userIDTooLong``, ``CoreError/invalidUserInfo``,
    ///   ``CoreError/userInfoTooLarge`` or ``CoreError/watchlistTooLong``.
    public static func make(
        userID: String, userInfo: JSONValue? = nil, watchlist: [String]? = nil, limits: PresenceLimits = PresenceLimits()
    ) throws(CoreError) -> String {
        try limits.check(userID: userID)
        var text = #"{"id":"# + JSON.quoted(userID)
        if let userInfo {
            text += #","user_info":"# + (try limits.check(userInfo: userInfo))
        }
        if let watchlist {
            guard watchlist.count <= maxWatchlistCount else { throw .watchlistTooLong }
            text += #","watchlist":["# + watchlist.map(JSON.quoted).joined(separator: ",") + "]"
        }
        return text + "}"
    }
}
