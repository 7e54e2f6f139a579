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
        var text = text
        let (userID, userInfo) = try text.withUTF8 { bytes in Result { () throws(CoreError) in try read(bytes, limits: limits, keepingCompact: false) } }.get()
        guard case .tree(let value, _)? = userInfo else { return (userID, nil) }
        return (userID, value)
    }

    /// The member that channel_data supplied by a client or relay describes, with the same checks as
    /// ``parse(_:limits:)``; its user_info text is the compact form, made once (or taken as it is when the client
    /// already sent it in that form, which is the usual case: then it is never parsed into a tree).
    public static func member(_ text: String, limits: PresenceLimits = PresenceLimits()) throws(CoreError) -> PresenceMember {
        var text = text
        return try text.withUTF8 { bytes in Result { () throws(CoreError) in try member(bytes, limits: limits) } }.get()
    }

    /// ``member(_:limits:)-(String,_)`` on channel_data's UTF-8 bytes, as a relay call carries them.
    public static func member(_ bytes: UnsafeBufferPointer<UInt8>, limits: PresenceLimits = PresenceLimits()) throws(CoreError) -> PresenceMember {
        let (userID, userInfo) = try read(bytes, limits: limits, keepingCompact: true)
        switch userInfo {
        case nil: return PresenceMember(userID: userID, userInfoJSON: nil)
        case .tree(_, let info)?, .compact(let info)?: return PresenceMember(userID: userID, userInfoJSON: info)
        }
    }

    /// A user_info as read: parsed (with the compact text made from it), or taken as its own compact text (only when
    /// the caller needs no tree).
    private enum UserInfo {
        case tree(JSONValue, String)
        case compact(String)
    }

    private static func read(
        _ text: UnsafeBufferPointer<UInt8>, limits: PresenceLimits, keepingCompact: Bool
    ) throws(CoreError) -> (userID: String, userInfo: UserInfo?) {
        guard text.count <= limits.maxChannelDataBytes else { throw .userInfoTooLarge }
        // Read member by member (no dictionary for the two names looked up once each), user_info kept as its text when
        // it is already compact.
        let parsed: (members: JSONMembers, compact: String?)?
        do {
            parsed = try JSONValue.parseMembers(buffer: UnsafeRawBufferPointer(text), keepingCompact: keepingCompact ? "user_info" : nil)
        } catch {
            throw .invalidChannelData
        }
        guard let (members, compact) = parsed else { throw .invalidChannelData }

        let userID: String
        switch members["user_id"] {
        case .string(let id): userID = id
        case .integer(let number): userID = String(number)
        case nil, .null: throw .missingUserID
        default: throw .invalidChannelData
        }
        try limits.check(userID: userID)

        if let compact {
            guard compact.utf8.count <= limits.maxUserInfoBytes else { throw .userInfoTooLarge }
            return (userID, .compact(compact))
        }
        switch members["user_info"] {
        case nil, .null:
            return (userID, nil)
        case let userInfo?:
            return (userID, .tree(userInfo, try limits.check(userInfo: userInfo)))
        }
    }
}
