/// What happened to a channel; the raw value is the Pusher webhook and relay event name.
public enum PresenceEventKind: String, Sendable, Hashable {
    /// A user's first socket joined a presence channel.
    case memberAdded = "member_added"
    /// A user's last socket left a presence channel (after grace, or at once when its node's lease lapsed).
    case memberRemoved = "member_removed"
    /// The first socket subscribed to a channel of any kind.
    case channelOccupied = "channel_occupied"
    /// A channel has no sockets and no members left.
    case channelVacated = "channel_vacated"
}
