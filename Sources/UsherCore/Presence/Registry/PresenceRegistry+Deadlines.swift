extension PresenceRegistry {
    /// Fires every grace expiry and lease expiry due at or before `now`, in deadline order (at equal deadlines,
    /// grace expiries first, in the order they began, then leases by node id).
    ///
    /// A grace expiry removes the member (`member_removed`, then `channel_vacated` if nothing is left). A lease expiry
    /// drops the node's sockets at once, bypassing grace (the lease was the grace), in app and socket id order and
    /// each socket's channels in join order: `member_removed` for each user left with no socket on any node,
    /// `channel_vacated` as channels empty. The node is then forgotten until it speaks again.
    ///
    /// - Returns: The events to publish, in order.
    public mutating func advance(now: Int64) -> [PresenceEvent] {
        var events: [PresenceEvent] = []
        var lease = ledger.earliestLease()
        while true {
            if let grace = ledger.grace.min, grace.deadline <= now, grace.deadline <= lease?.deadline ?? .max {
                ledger.grace.removeMin()
                apps[grace.app]?.expire(grace, ledger: &ledger, events: &events)
            } else if let due = lease, due.deadline <= now {
                expireLease(of: due.node, events: &events)
                lease = ledger.earliestLease()
            } else {
                break
            }
        }
        pruneGrace(force: true)
        return events
    }

    /// The earliest pending grace or lease deadline, or nil when nothing is pending; call ``advance(now:)`` then.
    public var nextDeadline: Int64? {
        let lease = ledger.leases.values.min()
        guard let grace = ledger.grace.min?.deadline else { return lease }
        return min(grace, lease ?? .max)
    }
}
