/// One presence write of the relay API: what a single call, or one op of a batch, asks a store to do.
///
/// Stores apply writes in groups (``PresenceStore/apply(_:)``): every write's outcome and events are exactly those
/// of applying it alone, in order, after the writes before it.
public enum PresenceWrite: Sendable, Hashable {
    /// Subscribes a socket on behalf of `node` and renews that node's lease (``PresenceRegistry/join(_:node:limits:now:)``).
    ///
    /// `wantsPresence` false answers a presence join without the member list: the relay already tracks the channel's
    /// members, so the join costs nothing per member.
    case join(Subscription, node: NodeID, limits: PresenceLimits, wantsPresence: Bool)
    /// Unsubscribes a socket from one channel (no-op when unknown).
    case leave(app: String, socketID: SocketID, channel: ChannelName)
    /// Removes a socket from every channel (no-op when unknown).
    case disconnect(app: String, socketID: SocketID)
    /// Renews a node's lease as a join does (a batch renews its node's lease whatever its ops are).
    case renew(NodeID)

    /// A join that answers the member list of presence channels.
    public static func join(_ subscription: Subscription, node: NodeID, limits: PresenceLimits) -> PresenceWrite {
        .join(subscription, node: node, limits: limits, wantsPresence: true)
    }
}

/// What one ``PresenceWrite`` did.
public enum PresenceWriteResult: Sendable, Hashable {
    /// The outcome of a join.
    case joined(JoinResult)
    /// A leave, disconnect or renewal (they cannot be refused).
    case done

    /// The join's result, or nil for other writes.
    public var join: JoinResult? {
        if case .joined(let result) = self { return result }
        return nil
    }
}
