extension PresenceRegistry {
    /// Subscribes a socket to a channel on behalf of `node`, and renews that node's lease.
    ///
    /// The first subscriber of a channel causes `channel_occupied`; a user's first socket on a presence channel causes
    /// `member_added` (in that order). A user in grace who rejoins causes no events and keeps the original user_info.
    ///
    /// - Parameters:
    ///   - subscription: The socket, channel and, for presence, the member from the verified channel_data.
    ///   - node: The relay node reporting the socket; the socket now belongs to it.
    ///   - limits: The app's presence limits; only a *new* member can be refused.
    ///   - now: The owner's clock, in milliseconds.
    /// - Returns: ``JoinOutcome/alreadySubscribed`` for a repeat, ``JoinOutcome/refused(_:)`` with
    ///   ``JoinRefusal/membersFull`` when a new user would exceed `limits.maxMembers`, otherwise the events to publish.
    public mutating func join(_ subscription: Subscription, node: NodeID, limits: PresenceLimits, now: Int64)
        -> JoinOutcome
    {
        join(subscription, node: node, limits: limits, now: now, listing: false).outcome
    }

    /// ``join(_:node:limits:now:)`` that, with `listing`, also answers the channel's member list when the socket is
    /// (or already was) subscribed: the list is read in the same access to the channel as the join.
    mutating func join(
        _ subscription: Subscription, node: NodeID, limits: PresenceLimits, now: Int64, listing: Bool
    ) -> (outcome: JoinOutcome, presence: PresenceSnapshot?) {
        renew(node: node, now: now)
        let joined = apps[subscription.app, default: AppState(id: subscription.app)]
            .subscribe(subscription, node: node, limits: limits, ledger: &ledger, listing: listing)
        pruneGrace()
        return joined
    }

    /// Renews a node's lease until `now + leaseMillis` as a join or a batch does: a node unknown until now owes a full
    /// snapshot at its next heartbeat (unlike ``heartbeat(node:now:)``, which asks for it at once).
    public mutating func renew(node: NodeID, now: Int64) {
        if !ledger.renewLease(of: node, until: now + configuration.leaseMillis) { ledger.mustResync.insert(node) }
    }

    /// Unsubscribes a socket from a channel.
    ///
    /// A user's last socket on a presence channel starts grace: the member stays listed until `now + graceMillis`.
    /// A non-presence channel left without sockets is vacated at once.
    ///
    /// - Returns: The events to publish; empty for an unknown or repeated leave.
    public mutating func leave(app: String, socketID: SocketID, channel: ChannelName, now: Int64) -> [PresenceEvent] {
        var events: [PresenceEvent] = []
        let deadline = graceDeadline(now: now)
        apps[app]?.unsubscribe(socketID, from: channel.name, graceDeadline: deadline, ledger: &ledger, events: &events)
        return events
    }

    /// Unsubscribes a closed socket from all its channels, in the order it joined them, with grace as in
    /// ``leave(app:socketID:channel:now:)``.
    ///
    /// - Returns: The events to publish; empty for an unknown socket.
    public mutating func disconnect(app: String, socketID: SocketID, now: Int64) -> [PresenceEvent] {
        var events: [PresenceEvent] = []
        let deadline = graceDeadline(now: now)
        apps[app]?.dropSocket(socketID, graceDeadline: deadline, ledger: &ledger, events: &events)
        return events
    }

    /// Applies one relay write as a store's group commit does: a join answers its channel's member list unless the
    /// relay did not ask for it (kept in the channel's listing, see ``cachedPresence(app:channel:)``), read in the
    /// same access to the channel as the join.
    ///
    /// - Returns: The store's answer; the write's events are appended to `events`.
    public mutating func apply(_ write: PresenceWrite, now: Int64, events: inout [PresenceEvent]) -> PresenceWriteResult {
        switch write {
        case .join(let subscription, let node, let limits, let wantsPresence):
            let listing = wantsPresence && subscription.channel.kind == .presence
            let (outcome, presence) = join(subscription, node: node, limits: limits, now: now, listing: listing)
            switch outcome {
            case .joined(let memberAdded, let joined):
                events += joined
                return .joined(.joined(memberAdded: memberAdded, presence: presence))
            case .alreadySubscribed:
                return .joined(.alreadySubscribed(presence: presence))
            case .refused(let refusal):
                return .joined(.refused(refusal))
            }
        case .leave(let app, let socketID, let channel):
            events += leave(app: app, socketID: socketID, channel: channel, now: now)
        case .disconnect(let app, let socketID):
            events += disconnect(app: app, socketID: socketID, now: now)
        case .renew(let node):
            renew(node: node, now: now)
        }
        return .done
    }
}
