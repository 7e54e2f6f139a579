extension PresenceRegistry {
    /// Renews a node's lease until `now + leaseMillis`, registering the node if unknown.
    ///
    /// - Returns: Whether the node held a live lease; `false` means Usher has forgotten (or never knew) its sockets,
    ///   so the node must send a full snapshot.
    @discardableResult
    public mutating func heartbeat(node: NodeID, now: Int64) -> Bool {
        let known = ledger.renewLease(of: node, until: now + configuration.leaseMillis)
        return ledger.mustResync.remove(node) == nil && known
    }

    /// The nodes holding a lease that has not lapsed at `now`.
    public func liveNodes(now: Int64) -> [NodeID] {
        ledger.leases.compactMap { $0.value > now ? $0.key : nil }
    }

    /// Replaces everything `node` owns with a full snapshot of its subscriptions, and renews its lease.
    ///
    /// Only real differences cause events: new subscriptions join first (in snapshot order, never refused, since the
    /// sockets exist already), then subscriptions the node owns but no longer reports leave (through grace), ordered
    /// by app and socket id. Subscriptions already known are kept as they are (a repeated key keeps its first member)
    /// and their sockets move to `node`. After a restart the registry is empty, so a snapshot re-adds everything.
    ///
    /// - Returns: The events to publish; empty when the snapshot matches the registry.
    public mutating func replaceNode(_ node: NodeID, with subscriptions: [Subscription], now: Int64) -> [PresenceEvent]
    {
        _ = ledger.renewLease(of: node, until: now + configuration.leaseMillis)
        ledger.mustResync.remove(node)
        var events: [PresenceEvent] = []
        var reported = Set<SubscriptionKey>(minimumCapacity: subscriptions.count)
        for subscription in subscriptions {
            reported.insert(SubscriptionKey(subscription))
            events +=
                apps[subscription.app, default: AppState(id: subscription.app)]
                .subscribe(subscription, node: node, limits: nil, ledger: &ledger).outcome.events
        }
        var gone: [(socket: SocketKey, channels: [String])] = []
        for app in apps.values {
            for socketID in app.sockets(of: node) {
                let channels = app.sockets[socketID]?.subscriptions.map(\.channel).filter {
                    !reported.contains(SubscriptionKey(app: app.id, socketID: socketID, channel: $0))
                }
                if let channels, !channels.isEmpty {
                    gone.append((SocketKey(app: app.id, socketID: socketID), channels))
                }
            }
        }
        let deadline = graceDeadline(now: now)
        for (socket, channels) in gone.sorted(by: { $0.socket < $1.socket }) {
            for channel in channels {
                apps[socket.app]?.unsubscribe(
                    socket.socketID, from: channel, graceDeadline: deadline, ledger: &ledger, events: &events)
            }
        }
        pruneGrace()
        return events
    }

    /// Drops every socket of a node whose lease lapsed, at once and without grace, and forgets the node.
    mutating func expireLease(of node: NodeID, events: inout [PresenceEvent]) {
        ledger.dropLease(of: node)
        ledger.mustResync.remove(node)
        for app in apps.keys.sorted() {
            apps[app]?.dropSockets(of: node, ledger: &ledger, events: &events)
        }
    }
}

/// One subscription's identity, for comparing a snapshot with the registry.
struct SubscriptionKey: Hashable {
    let app: String
    let socketID: SocketID
    let channel: String

    init(app: String, socketID: SocketID, channel: String) {
        self.app = app
        self.socketID = socketID
        self.channel = channel
    }

    init(_ subscription: Subscription) {
        self.init(app: subscription.app, socketID: subscription.socketID, channel: subscription.channel.name)
    }
}
