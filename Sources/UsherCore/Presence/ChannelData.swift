public import UsherCrypto

/// Builds and reads presence `channel_data`: `{"user_id":…,"user_info":{…}}`.
///
/// The text built here is what gets signed and sent; it must never be re-serialized afterwards.
public enum ChannelData {
    /// Builds compact channel_data, e.g. `{"user_id":"42","user_info":{"name":"Ann"}}`.
    ///
    /// - Parameters:
    ///   - userID: The member's id, written as a JSON string.
    ///   - userInfo: An optional JSON object; omitted from the text when nil.
    ///   - limits: The app's presence limits.
    /// - Throws: ``CoreError/missingUserID``, ``CoreError/userIDTooLong``, ``CoreError/invalidUserInfo`` (not an
    ///   object) or ``CoreError/userInfoTooLarge``.
    public static func make(
        userID: String, userInfo: JSONValue?, limits: PresenceLimits = PresenceLimits()
    ) throws(CoreError) -> String {
        try limits.check(userID: userID)
        var text = #"{"user_id":"# + JSON.quoted(userID)
        if let userInfo {
            text += #","user_info":"# + (try limits.check(userInfo: userInfo))
        }
        return text + "}"
    }

    /// Reads channel_data supplied by a client or relay, enforcing the same limits as ``make(userID:userInfo:limits:)``.
    ///
    /// `user_id` may be a string or a JSON integer; an integer's id is its JSON text (`10` → `"10"`), so members are
    /// deduplicated on one string form. A `null` user_info counts as absent. Other members of the object are ignored.
    ///
    /// - Returns: The user id and user_info; the caller signs or relays the original `text`, not these values.
    /// - Throws: ``CoreError/invalidChannelData`` for text that is not a JSON object or whose user_id is neither a
    ///   string nor an integer; ``CoreError/missingUserID``; ``CoreError/userIDTooLong``; ``CoreError/invalidUserInfo``;
    ///   ``CoreError/userInfoTooLarge`` (also for raw text far beyond the limits).
    public static func parse(
        _ text: String, limits: PresenceLimits = PresenceLimits()
    ) throws(CoreError) -> (userID: String, userInfo: JSONValue?) {
        let (userID, userInfo, _) = try read(text, limits: limits)
        return (userID, userInfo)
    }

    /// The member that channel_data supplied by a client or relay describes, with the same checks as
    /// ``parse(_:limits:)``; its user_info text is the compact form, made once.
    public static func member(_ text: String, limits: PresenceLimits = PresenceLimits()) throws(CoreError) -> PresenceMember {
        let (userID, _, userInfoJSON) = try read(text, limits: limits)
        return PresenceMember(userID: userID, userInfoJSON: userInfoJSON)
    }

    private static func read(
        _ text: String, limits: PresenceLimits
    ) throws(CoreError) -> (userID: String, userInfo: JSONValue?, userInfoJSON: String?) {
        guard text.utf8.count <= limits.maxChannelDataBytes else { throw .userInfoTooLarge }
        // Read member by member: no dictionary for the two names looked up once each.
        let parsed: JSONMembers?
        do {
            parsed = try JSONValue.parseMembers(text)
        } catch {
            throw .invalidChannelData
        }
        guard let members = parsed else { throw .invalidChannelData }

        let userID: String
        switch members["user_id"] {
        case .string(let id): userID = id
        case .integer(let number): userID = String(number)
        case nil, .null: throw .missingUserID
        default: throw .invalidChannelData
        }
        try limits.check(userID: userID)

        switch members["user_info"] {
        case nil, .null:
            return (userID, nil, nil)
        case let userInfo?:
            return (userID, userInfo, try limits.check(userInfo: userInfo))
        }
    }
}
