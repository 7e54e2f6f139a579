/// The result of ``PresenceRegistry/join(_:node:limits:now:)``.
public enum JoinOutcome: Sendable, Hashable {
    /// The socket is now subscribed; `memberAdded` is whether the user became a new member (`member_added` in
    /// `events`), and `events` are in order: `channel_occupied`, then `member_added`.
    case joined(memberAdded: Bool, events: [PresenceEvent])
    /// The same app, socket and channel was already subscribed (a relay retry); nothing changed.
    case alreadySubscribed
    /// The join was refused; nothing changed.
    case refused(JoinRefusal)

    /// The events to publish: empty unless ``joined(memberAdded:events:)``.
    public var events: [PresenceEvent] {
        if case .joined(_, let events) = self { return events }
        return []
    }
}
