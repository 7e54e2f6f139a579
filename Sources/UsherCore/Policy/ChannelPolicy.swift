public import UsherCrypto

/// An app's ordered channel rules: the first rule whose pattern matches decides.
///
/// Security: there is no fall-through — if the first matching rule's requirements fail, the subscription is denied
/// even when a later rule would allow it. No matching rule denies. A token's `channels` claim (an array of patterns
/// in the same syntax) can only narrow what the rules allow, never widen it.
///
/// ```swift
/// let policy = try ChannelPolicy(rules: [
///     ChannelRule(pattern: "private-user-{sub}"),
///     ChannelRule(pattern: "presence-admin-*", require: ["roles": ["admin"]]),
/// ])
/// try policy.authorize(channel: channel, claims: claims, userID: userID)
/// ```
public struct ChannelPolicy: Sendable {
    private struct CompiledRule: Sendable {
        let pattern: ChannelPattern
        /// Sorted by claim name so the reported failing claim is deterministic.
        let requirements: [(claim: String, accepted: Set<String>)]
    }

    /// The rules as configured, in order.
    public let rules: [ChannelRule]
    private let compiled: [CompiledRule]

    /// Compiles `rules` once so requests never reparse patterns.
    ///
    /// - Throws: ``CoreError/invalidChannelRule`` for a malformed pattern or a requirement with no accepted values
    ///   (which could never be met).
    public init(rules: [ChannelRule]) throws(CoreError) {
        var compiled: [CompiledRule] = []
        for rule in rules {
            let pattern = try ChannelPattern(parsing: rule.pattern)
            var requirements: [(claim: String, accepted: Set<String>)] = []
            for (claim, values) in rule.require.sorted(by: { $0.key < $1.key }) {
                guard !values.isEmpty else { throw .invalidChannelRule }
                requirements.append((claim, Set(values)))
            }
            compiled.append(CompiledRule(pattern: pattern, requirements: requirements))
        }
        self.rules = rules
        self.compiled = compiled
    }

    /// Decides whether the identity may subscribe to `channel`.
    ///
    /// - Parameters:
    ///   - claims: The verified identity token's claims; nil for anonymous development users.
    ///   - userID: The identity's user id, which fills `{sub}` and `{user_id}`.
    public func decide(channel: ChannelName, claims: JWTClaims?, userID: String) -> PolicyDecision {
        let name = Array(channel.name.utf8)
        guard let index = compiled.firstIndex(where: { $0.pattern.matches(name, claims: claims, userID: userID) }) else {
            return .deny(.noMatchingRule)
        }
        for requirement in compiled[index].requirements {
            let held = claims?[requirement.claim].map(ClaimText.all) ?? []
            guard held.contains(where: requirement.accepted.contains) else {
                return .deny(.requirementFailed(rule: index, claim: requirement.claim))
            }
        }
        guard Self.tokenChannelsAllow(name, claims: claims, userID: userID) else {
            return .deny(.outsideTokenChannels)
        }
        return .allow(rule: index)
    }

    /// Throws unless ``decide(channel:claims:userID:)`` allows the subscription.
    ///
    /// - Throws: ``CoreError/forbiddenChannel`` on any denial; the reason stays server-side.
    public func authorize(channel: ChannelName, claims: JWTClaims?, userID: String) throws(CoreError) {
        guard decide(channel: channel, claims: claims, userID: userID).isAllowed else { throw .forbiddenChannel }
    }

    /// Without a `channels` claim there is nothing to narrow; with one, it must be an array of patterns, one of
    /// which matches. Anything else fails closed.
    private static func tokenChannelsAllow(_ name: [UInt8], claims: JWTClaims?, userID: String) -> Bool {
        guard let value = claims?["channels"] else { return true }
        guard case .array(let elements) = value else { return false }
        return elements.contains { element in
            // Token patterns vary per request, so they are compiled here; the token size cap bounds the work.
            guard case .string(let text) = element, let pattern = try? ChannelPattern(parsing: text) else {
                return false
            }
            return pattern.matches(name, claims: claims, userID: userID)
        }
    }
}
