/// A validated Pusher channel name and its ``ChannelKind``.
///
/// Allowed characters are `A-Z a-z 0-9 _ - = @ , . ;`; `#` appears only in the `#server-to-user-<id>` form.
///
/// ```swift
/// let channel = try ChannelName(validating: "presence-room")
/// channel.kind                  // .presence
/// channel.requiresAuthorization // true
/// ```
public struct ChannelName: Sendable, Hashable, CustomStringConvertible {
    /// The default length limit: what the Pusher SDKs and soketi accept (hosted docs say 164).
    public static let defaultMaxLength = 200

    /// The channel name text, exactly as validated.
    public let name: String

    /// The channel type, classified once at validation.
    public let kind: ChannelKind

    /// Validates `text` as a channel name of at most `maxLength` characters.
    ///
    /// - Throws: ``CoreError/channelNameTooLong`` past `maxLength`; ``CoreError/invalidChannelName`` when empty or
    ///   using characters outside the alphabet (spaces, non-ASCII, a misplaced `#`).
    public init(validating text: String, maxLength: Int = ChannelName.defaultMaxLength) throws(CoreError) {
        // Byte count equals character count for valid names, and bounds the work for hostile ones.
        guard text.utf8.count <= maxLength else { throw .channelNameTooLong }
        guard let kind = ChannelKind(classifying: text) else { throw .invalidChannelName }
        self.name = text
        self.kind = kind
    }

    /// Validates a substring or other string form as ``init(validating:maxLength:)-(String,_)`` does.
    public init(validating text: some StringProtocol, maxLength: Int = ChannelName.defaultMaxLength) throws(CoreError) {
        guard text.utf8.count <= maxLength else { throw .channelNameTooLong }
        try self.init(validating: String(text), maxLength: maxLength)
    }

    /// Whether subscribing needs a channel auth string; see ``ChannelKind/requiresAuthorization``.
    public var requiresAuthorization: Bool { kind.requiresAuthorization }

    /// Same as ``name``.
    public var description: String { name }
}
