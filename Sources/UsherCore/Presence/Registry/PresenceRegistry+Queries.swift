extension PresenceRegistry {
    /// A presence channel's members as `pusher_internal:subscription_succeeded` sends them, including members in
    /// grace; nil when the channel has no members (or is not a presence channel).
    public func presence(app: String, channel: String) -> PresenceSnapshot? {
        let members = members(app: app, channel: channel)
        return members.isEmpty ? nil : PresenceSnapshot(members: members)
    }

    /// ``presence(app:channel:)``, served from (and kept in) the channel's listing, which stays current while members
    /// only arrive: a join into a channel of N members then costs no serialization of the N.
    public mutating func cachedPresence(app: String, channel: String) -> PresenceSnapshot? {
        apps[app]?.channels[channel]?.presence()
    }

    /// A presence channel's members, including those in grace, in no promised order; empty when none.
    public func members(app: String, channel: String) -> [PresenceMember] {
        guard let state = apps[app]?.channels[channel] else { return [] }
        return state.members.map { PresenceMember(userID: $0.key, userInfoJSON: $0.value.userInfoJSON) }
    }

    /// A presence channel's user ids, including members in grace, in no promised order; empty when none.
    ///
    /// Cheaper than ``members(app:channel:)`` for listings that need only ids (the HTTP API's users endpoint).
    public func userIDs(app: String, channel: String) -> [String] {
        guard let state = apps[app]?.channels[channel] else { return [] }
        return Array(state.members.keys)
    }

    /// Sockets subscribed to a channel of any kind now (members in grace have none).
    public func subscriptionCount(app: String, channel: String) -> Int {
        apps[app]?.channels[channel]?.socketCount ?? 0
    }

    /// Distinct members of a presence channel, including those in grace; 0 for other kinds.
    public func userCount(app: String, channel: String) -> Int {
        apps[app]?.channels[channel]?.members.count ?? 0
    }

    /// An app's occupied channels (with sockets, or members in grace), optionally only names starting with `prefix`,
    /// in no promised order.
    public func channels(app: String, prefix: String? = nil) -> [ChannelSummary] {
        guard let channels = apps[app]?.channels else { return [] }
        var summaries: [ChannelSummary] = []
        for (name, state) in channels where prefix.map({ name.utf8.starts(with: $0.utf8) }) ?? true {
            summaries.append(
                ChannelSummary(
                    name: name, subscriptionCount: state.socketCount,
                    userCount: state.isPresence ? state.members.count : nil))
        }
        return summaries
    }

    /// The non-presence channels whose subscription count changed since the last call, and forgets them: the owner
    /// publishes their counts (`subscription_count`). Every subscription change records its channel until taken.
    public mutating func takeCountChanges() -> Set<AppChannel> {
        let taken = ledger.countChanges
        ledger.countChanges = []
        return taken
    }

    /// Totals across all apps, for metrics.
    public var statistics: PresenceStatistics {
        var totals = ledger.totals
        totals.nodes = ledger.leases.count
        return totals
    }
}
