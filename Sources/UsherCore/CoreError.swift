/// The one error type of `UsherCore`: a stable code, a coarse ``Kind`` for status mapping, and a client-safe message.
///
/// Messages never contain secrets or caller input, so they can be returned to clients as they are; details belong in
/// logs. The code is private so new cases can be added without breaking callers; compare against the static members:
///
/// ```swift
/// #expect(throws: CoreError.invalidSocketID) { try SocketID(validating: "1234") }
/// ```
public struct CoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// How a caller should treat the error; the server maps it to an HTTP status.
    public enum Kind: Sendable, Hashable {
        /// The input is malformed, out of limits or not applicable (HTTP 400).
        case badRequest
        /// The input is well formed but the subscriber may not have what it asks for (HTTP 403).
        case forbidden
    }

    private enum Code: Sendable, Hashable {
        case invalidSocketID, invalidChannelName, channelNameTooLong, publicChannel
        case invalidChannelData, missingUserID, userIDTooLong, invalidUserInfo, userInfoTooLarge
        case invalidUserData, watchlistTooLong, forbiddenChannel
        case noEncryptionMasterKey, invalidEncryptionMasterKey, invalidChannelRule
        case invalidAppID, invalidAppKey, weakAppSecret, invalidAppSecrets, noUsableSecret
        case invalidNodeID, invalidKeyRing
    }

    private let code: Code
    /// Extra detail for codes that carry one (key ring problems name the kid).
    private var detail: String?

    private init(_ code: Code) {
        self.code = code
    }

    /// The coarse category the server maps to a status code.
    public var kind: Kind {
        code == .forbiddenChannel ? .forbidden : .badRequest
    }

    /// Equal when the codes are; the detail is for messages only.
    public static func == (lhs: CoreError, rhs: CoreError) -> Bool { lhs.code == rhs.code }

    /// A short message that is safe to show to a client.
    public var message: String {
        if let detail { return detail }
        return switch code {
        case .invalidSocketID: "socket_id must be two runs of ASCII digits joined by a dot"
        case .invalidChannelName: "channel name is empty or uses characters outside A-Z a-z 0-9 _ - = @ , . ;"
        case .channelNameTooLong: "channel name is too long"
        case .publicChannel: "public channels need no authorization"
        case .invalidChannelData: "channel_data is missing, not allowed here, or not a JSON object with a user_id"
        case .missingUserID: "user id is missing or empty"
        case .userIDTooLong: "user id is too long"
        case .invalidUserInfo: "user_info must be a JSON object"
        case .userInfoTooLarge: "user_info is too large"
        case .invalidUserData: "user_data must be a JSON object with a non-empty string id"
        case .watchlistTooLong: "watchlist has too many entries"
        case .forbiddenChannel: "not allowed to subscribe to this channel"
        case .noEncryptionMasterKey: "encrypted channels are not enabled for this app"
        case .invalidEncryptionMasterKey: "encryption master key must be 32 bytes"
        case .invalidChannelRule: "channel rule pattern or requirement is invalid"
        case .invalidAppID: "app id must be 1 to 64 characters of A-Z a-z 0-9 _ -"
        case .invalidAppKey: "app key must be 8 to 64 characters of A-Z a-z 0-9 _ -"
        case .weakAppSecret: "app secret must be at least 20 characters"
        case .invalidAppSecrets: "app secrets must be non-empty with unique ids"
        case .noUsableSecret: "app has no secret usable at this time"
        case .invalidNodeID: "node id must be 1 to 128 characters of A-Z a-z 0-9 _ . : -"
        case .invalidKeyRing: "invalid signing key ring"
        }
    }

    /// Same as ``message``.
    public var description: String { message }
}

extension CoreError {
    /// A socket_id is not `<digits>.<digits>` (ASCII, at most 20 digits each).
    public static let invalidSocketID = CoreError(.invalidSocketID)
    /// A channel name is empty or has characters outside the channel charset.
    public static let invalidChannelName = CoreError(.invalidChannelName)
    /// A channel name is longer than the configured maximum.
    public static let channelNameTooLong = CoreError(.channelNameTooLong)
    /// Authorization was asked for a public channel, which needs none.
    public static let publicChannel = CoreError(.publicChannel)
    /// channel_data is missing for presence, given for another channel type, or malformed.
    public static let invalidChannelData = CoreError(.invalidChannelData)
    /// A user id is missing or empty.
    public static let missingUserID = CoreError(.missingUserID)
    /// A user id is longer than ``PresenceLimits/maxUserIDLength``.
    public static let userIDTooLong = CoreError(.userIDTooLong)
    /// user_info is not a JSON object.
    public static let invalidUserInfo = CoreError(.invalidUserInfo)
    /// user_info's JSON text exceeds ``PresenceLimits/maxUserInfoBytes``.
    public static let userInfoTooLarge = CoreError(.userInfoTooLarge)
    /// Sign-in user_data is malformed.
    public static let invalidUserData = CoreError(.invalidUserData)
    /// Sign-in watchlist exceeds ``UserData/maxWatchlistCount`` entries.
    public static let watchlistTooLong = CoreError(.watchlistTooLong)
    /// The channel policy denies the subscription.
    public static let forbiddenChannel = CoreError(.forbiddenChannel)
    /// An encrypted channel was asked for but the app has no encryption master key.
    public static let noEncryptionMasterKey = CoreError(.noEncryptionMasterKey)
    /// An encryption master key is not exactly 32 bytes (or not valid base64).
    public static let invalidEncryptionMasterKey = CoreError(.invalidEncryptionMasterKey)
    /// A channel rule has a malformed pattern or an empty requirement list.
    public static let invalidChannelRule = CoreError(.invalidChannelRule)
    /// An app id does not match `[A-Za-z0-9_-]{1,64}`.
    public static let invalidAppID = CoreError(.invalidAppID)
    /// An app key does not match `[A-Za-z0-9_-]{8,64}`.
    public static let invalidAppKey = CoreError(.invalidAppKey)
    /// A given app secret is shorter than 20 characters.
    public static let weakAppSecret = CoreError(.weakAppSecret)
    /// An app's secret list is empty, has an empty secret, or repeats a secret id.
    public static let invalidAppSecrets = CoreError(.invalidAppSecrets)
    /// Every secret of the app is past its `notAfter`.
    public static let noUsableSecret = CoreError(.noUsableSecret)
    /// A relay node id does not match `[A-Za-z0-9_.:-]{1,128}`.
    public static let invalidNodeID = CoreError(.invalidNodeID)
    /// The signing key ring is inconsistent, or a key ring operation named an unknown or invalid kid.
    public static let invalidKeyRing = CoreError(.invalidKeyRing)

    static func invalidKeyRing(_ detail: String) -> CoreError {
        var error = CoreError(.invalidKeyRing)
        error.detail = "key ring: \(detail)"
        return error
    }
}
