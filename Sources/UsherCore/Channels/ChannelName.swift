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
    public init(validating text: some StringProtocol, maxLength: Int = ChannelName.defaultMaxLength) throws(CoreError) {
        // Byte count equals character count for valid names, and bounds the work for hostile ones.
        guard text.utf8.count <= maxLength else { throw .channelNameTooLong }
        let name = String(text)
        guard let kind = ChannelKind(classifying: name) else { throw .invalidChannelName }
        self.name = name
        self.kind = kind
    }

    /// Whether subscribing needs a channel auth string; see ``ChannelKind/requiresAuthorization``.
    public var requiresAuthorization: Bool { kind.requiresAuthorization }

    /// Same as ``name``.
    public var description: String { name }
}
