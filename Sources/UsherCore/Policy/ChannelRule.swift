/// One ordered rule of a ``ChannelPolicy``: a channel-name pattern and the claims a subscriber must hold.
///
/// Pattern syntax: `{claim}` is replaced by that claim's value (a string, or an integer's text); `{sub}` and
/// `{user_id}` always mean the identity's user id; `*` matches any run of characters, including none; everything else
/// is literal, and the whole name must match. Example: `private-user-{sub}`, `presence-team-{team}-*`.
public struct ChannelRule: Sendable, Hashable, Codable {
    /// The channel-name pattern.
    public var pattern: String
    /// Claim name → accepted values; the token's claim (a string or an array of strings) must hold at least one.
    public var require: [String: [String]]

    /// Creates a rule; with no requirements any identity whose claims fill the templates matches.
    public init(pattern: String, require: [String: [String]] = [:]) {
        self.pattern = pattern
        self.require = require
    }

    private enum CodingKeys: String, CodingKey {
        case pattern, require
    }

    /// Decodes `{pattern, require?}`; a missing `require` means no requirements.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        pattern = try container.decode(String.self, forKey: .pattern)
        require = try container.decodeIfPresent([String: [String]].self, forKey: .require) ?? [:]
    }
}
