/// The outcome of ``ChannelPolicy/decide(channel:claims:userID:)``, with the reason kept for logs and metrics.
public enum PolicyDecision: Sendable, Hashable {
    /// The rule at this index of ``ChannelPolicy/rules`` matched and its requirements held.
    case allow(rule: Int)
    /// The subscription is refused.
    case deny(Reason)

    /// Why a subscription was refused. Not for clients: they only see ``CoreError/forbiddenChannel``.
    public enum Reason: Sendable, Hashable {
        /// No rule's pattern matched the channel.
        case noMatchingRule
        /// The first matching rule required a claim value the identity lacks.
        case requirementFailed(rule: Int, claim: String)
        /// A rule allowed it, but the token's `channels` claim does not include the channel.
        case outsideTokenChannels
    }

    /// Whether the decision is ``allow(rule:)``.
    public var isAllowed: Bool {
        if case .allow = self { true } else { false }
    }
}
