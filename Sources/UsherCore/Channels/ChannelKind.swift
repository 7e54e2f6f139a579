/// The type of a channel, decided by its name's prefix at position 0.
public enum ChannelKind: Sendable, Hashable {
    /// `private-encrypted-…`: signed like private; the auth response adds a `shared_secret`.
    case privateEncrypted
    /// `presence-…`: signed over socket, channel and the exact channel_data text.
    case presence
    /// `private-…`: signed over `socket_id:channel`.
    case `private`
    /// `#server-to-user-<id>`: only the signed-in user `<id>` may receive it; no channel auth string applies.
    case serverToUser(userID: String)
    /// Anything else (including `cache-…`): no authorization.
    case `public`

    /// Whether subscribing needs a channel auth string (private, presence and encrypted channels).
    ///
    /// Server-to-user channels answer `false`: they are guarded by sign-in, not by channel auth.
    public var requiresAuthorization: Bool {
        switch self {
        case .privateEncrypted, .presence, .private: true
        case .serverToUser, .public: false
        }
    }

    /// Whether the registry tracks the channel's members: presence channels, and server-to-user channels, whose one
    /// member is the signed-in user (online while any of their signed-in connections exists, with the leave grace).
    public var hasMembers: Bool {
        switch self {
        case .presence, .serverToUser: true
        case .privateEncrypted, .private, .public: false
        }
    }

    static let serverToUserPrefix = "#server-to-user-"

    /// The name of `userID`'s server-to-user channel, whose member is the user while they are online.
    public static func serverToUserChannel(_ userID: String) -> String {
        serverToUserPrefix + userID
    }

    /// The prefixes of cache channels, whose last triggered event relays keep for new subscribers (PUSHER-PROTOCOL.md
    /// §9a): public, private, encrypted and presence.
    public static let cachePrefixes = ["cache-", "private-cache-", "private-encrypted-cache-", "presence-cache-"]

    /// Whether `name` is a cache channel.
    public static func isCache(_ name: String) -> Bool {
        cachePrefixes.contains { name.utf8.starts(with: $0.utf8) }
    }

    /// Classifies a name, or returns nil when its characters are invalid.
    ///
    /// `private-encrypted-` is tested before `private-` because the latter is its prefix.
    init?(classifying name: String) {
        var name = name
        // On the string's contiguous bytes (in place for native strings): prefix checks are byte compares.
        guard let kind = name.withUTF8(Self.classify) else { return nil }
        self = kind
    }

    private static func classify(_ bytes: UnsafeBufferPointer<UInt8>) -> ChannelKind? {
        func starts(with prefix: StaticString) -> Bool {
            let count = prefix.utf8CodeUnitCount
            return bytes.count >= count && UnsafeBufferPointer(rebasing: bytes[..<count]).elementsEqual(UnsafeBufferPointer(start: prefix.utf8Start, count: count))
        }
        if starts(with: "#server-to-user-") {
            let userID = UnsafeBufferPointer(rebasing: bytes[serverToUserPrefix.utf8.count...])
            guard !userID.isEmpty, ChannelCharset.containsAll(userID) else { return nil }
            return .serverToUser(userID: String(decoding: userID, as: UTF8.self))
        }
        guard !bytes.isEmpty, ChannelCharset.containsAll(bytes) else { return nil }
        if starts(with: "private-encrypted-") { return .privateEncrypted }
        if starts(with: "presence-") { return .presence }
        if starts(with: "private-") { return .private }
        return .public
    }
}
