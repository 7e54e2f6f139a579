/// One app's channels, sockets and which node owns which socket, with the primitive moves the registry composes.
///
/// Every method updates `ledger` (grace queue, totals) and appends the events it causes, in order.
struct AppState {
    let id: String
    var channels: [String: ChannelState] = [:]
    var sockets: [SocketID: SocketState] = [:]
    /// The sockets each node owns, for lease expiries and resyncs.
    var nodeSockets: [NodeID: Set<SocketID>] = [:]

    init(id: String) {
        self.id = id
    }

    /// Subscribes a socket; `limits` nil never refuses (resyncs). An existing subscription moves to `node`.
    ///
    /// With `listing`, a socket that is (or already was) subscribed also answers the channel's member list, read in
    /// the same access to the channel as the join.
    mutating func subscribe(
        _ subscription: Subscription, node: NodeID, limits: PresenceLimits?, ledger: inout Ledger, listing: Bool = false
    ) -> (outcome: JoinOutcome, presence: PresenceSnapshot?) {
        let name = subscription.channel.name
        let socketIndex = sockets.index(forKey: subscription.socketID)
        if let socketIndex, sockets.values[socketIndex].subscriptions.position(of: name) != nil {
            claim(socketIndex, for: node)
            return (.alreadySubscribed, listing ? channels[name]?.presence() : nil)
        }
        let isPresence = subscription.channel.kind.hasMembers
        let (admission, presence) = Self.admit(
            subscription.member, limits: limits, listing: listing,
            to: &channels[name, default: ChannelState(name: name, isPresence: isPresence)])
        switch admission {
        case .refused(let refusal):
            if channels[name]?.isVacant == true { channels[name] = nil }
            return (.refused(refusal), nil)
        case .admitted(let storedName, let occupied, let change):
            var events: [PresenceEvent] = []
            if occupied {
                ledger.totals.channels += 1
                events.append(.occupied(app: id, channel: storedName))
            }
            let userID: String?
            switch change {
            case .none:
                userID = nil
            case .added(let member):
                userID = member
                ledger.totals.members += 1
                events.append(
                    .added(app: id, channel: storedName, userID: member, userInfoJSON: subscription.member?.userInfoJSON))
            case .anotherSocket(let member):
                userID = member
            case .rejoined(let member):
                userID = member
                ledger.graceTopMayBeStale = true
            }
            let record = SocketSubscription(channel: storedName, userID: userID)
            attach(record, to: subscription.socketID, at: socketIndex, node: node, ledger: &ledger)
            return (.joined(memberAdded: change.isAddition, events: events), presence)
        }
    }

    /// Admits a member to `channel` and, when asked and admitted, reads its member list (one access to the channel).
    private static func admit(
        _ member: PresenceMember?, limits: PresenceLimits?, listing: Bool, to channel: inout ChannelState
    ) -> (ChannelState.Admission, PresenceSnapshot?) {
        let admission = channel.admit(member, limits: limits)
        guard listing, case .admitted = admission else { return (admission, nil) }
        return (admission, channel.presence())
    }

    /// The sockets `node` owns in this app.
    func sockets(of node: NodeID) -> Set<SocketID> {
        nodeSockets[node] ?? []
    }

    /// Records a new subscription on its socket, creating the socket or moving it to `node` as needed.
    private mutating func attach(
        _ record: SocketSubscription, to socketID: SocketID, at index: Dictionary<SocketID, SocketState>.Index?,
        node: NodeID, ledger: inout Ledger
    ) {
        ledger.totals.subscriptions += 1
        if record.countsSubscriptions { ledger.countChanges.insert(AppChannel(app: id, channel: record.channel)) }
        if let index {
            sockets.values[index].subscriptions.append(record)
            claim(index, for: node)
        } else {
            sockets[socketID] = SocketState(node: node, subscriptions: SubscriptionList(record))
            ledger.totals.sockets += 1
            nodeSockets[node, default: []].insert(socketID)
        }
    }

    /// Moves the socket at `index` to `node` if another node owned it: a socket belongs to the last node reporting it.
    private mutating func claim(_ index: Dictionary<SocketID, SocketState>.Index, for node: NodeID) {
        let previous = sockets.values[index].node
        guard previous != node else { return }
        sockets.values[index].node = node
        let socketID = sockets.keys[index]
        forget(socketID, of: previous)
        nodeSockets[node, default: []].insert(socketID)
    }

    /// Removes a socket from its node's set, and the node's entry once it owns nothing here.
    mutating func forget(_ socketID: SocketID, of node: NodeID) {
        guard let index = nodeSockets.index(forKey: node) else { return }
        nodeSockets.values[index].remove(socketID)
        if nodeSockets.values[index].isEmpty { nodeSockets.remove(at: index) }
    }
}
