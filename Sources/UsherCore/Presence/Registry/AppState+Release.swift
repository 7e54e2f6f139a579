extension AppState {
    /// Unsubscribes a socket from one channel; unknown subscriptions are ignored. `graceDeadline` nil skips grace.
    mutating func unsubscribe(
        _ socketID: SocketID, from channel: String, graceDeadline: Int64?, ledger: inout Ledger,
        events: inout [PresenceEvent]
    ) {
        guard let socketIndex = sockets.index(forKey: socketID),
            let position = sockets.values[socketIndex].subscriptions.position(of: channel)
        else { return }
        let record = sockets.values[socketIndex].subscriptions.remove(at: position)
        if sockets.values[socketIndex].subscriptions.isEmpty {
            let node = sockets.values[socketIndex].node
            sockets.remove(at: socketIndex)
            ledger.totals.sockets -= 1
            forget(socketID, of: node)
        }
        release(record, graceDeadline: graceDeadline, ledger: &ledger, events: &events)
    }

    /// Unsubscribes a socket from all its channels, in the order it joined them; unknown sockets are ignored.
    mutating func dropSocket(
        _ socketID: SocketID, graceDeadline: Int64?, ledger: inout Ledger, events: inout [PresenceEvent]
    ) {
        guard let state = sockets.removeValue(forKey: socketID) else { return }
        ledger.totals.sockets -= 1
        forget(socketID, of: state.node)
        for record in state.subscriptions {
            release(record, graceDeadline: graceDeadline, ledger: &ledger, events: &events)
        }
    }

    /// Drops every socket `node` owns here at once, without grace, in socket id order.
    mutating func dropSockets(of node: NodeID, ledger: inout Ledger, events: inout [PresenceEvent]) {
        guard let owned = nodeSockets.removeValue(forKey: node) else { return }
        for socketID in owned.sorted(by: { $0.description < $1.description }) {
            dropSocket(socketID, graceDeadline: nil, ledger: &ledger, events: &events)
        }
    }

    /// Fires a grace expiry popped from the queue; a stale entry does nothing.
    mutating func expire(_ entry: GraceEntry, ledger: inout Ledger, events: inout [PresenceEvent]) {
        guard let index = channels.index(forKey: entry.channel),
            channels.values[index].expire(userID: entry.userID, ticket: entry.ticket)
        else { return }
        ledger.totals.members -= 1
        events.append(.removed(app: id, channel: entry.channel, userID: entry.userID))
        vacateIfEmpty(index, ledger: &ledger, events: &events)
    }

    /// Whether `entry` is still the live grace of its member.
    func isLive(_ entry: GraceEntry) -> Bool {
        channels[entry.channel]?.isInGrace(userID: entry.userID, ticket: entry.ticket) ?? false
    }

    private mutating func release(
        _ record: SocketSubscription, graceDeadline: Int64?, ledger: inout Ledger, events: inout [PresenceEvent]
    ) {
        ledger.totals.subscriptions -= 1
        if record.countsSubscriptions { ledger.countChanges.insert(AppChannel(app: id, channel: record.channel)) }
        guard let index = channels.index(forKey: record.channel) else { return }
        let grace = graceDeadline.map { (deadline: $0, ticket: ledger.nextTicket) }
        switch channels.values[index].release(userID: record.userID, grace: grace) {
        case .socketLeft:
            break
        case .graceStarted(let userID, let deadline):
            ledger.startGrace(app: id, channel: record.channel, userID: userID, deadline: deadline)
        case .memberRemoved(let userID):
            ledger.totals.members -= 1
            events.append(.removed(app: id, channel: record.channel, userID: userID))
        }
        vacateIfEmpty(index, ledger: &ledger, events: &events)
    }

    private mutating func vacateIfEmpty(
        _ index: Dictionary<String, ChannelState>.Index, ledger: inout Ledger, events: inout [PresenceEvent]
    ) {
        guard channels.values[index].isVacant else { return }
        let name = channels.values[index].name
        channels.remove(at: index)
        ledger.totals.channels -= 1
        events.append(.vacated(app: id, channel: name))
    }
}
