import PostgresNIO
public import UsherCore

extension PostgresPresenceStore {
    public func join(_ subscription: Subscription, node: NodeID, limits: PresenceLimits) async throws -> JoinResult {
        let (outcome, presence) = try await write(renewing: node) { transaction in
            let outcome = try await transaction.subscribe(subscription, node: node, limits: limits)
            let isPresence = subscription.channel.kind == .presence
            let presence: PresenceSnapshot? =
                if case .refused = outcome { nil } else if isPresence {
                    try await Self.presence(
                        app: subscription.app, channel: subscription.channel.name, on: transaction.connection,
                        logger: transaction.logger)
                } else { nil }
            return (outcome, presence)
        }
        switch outcome {
        case .joined(let memberAdded, _): return .joined(memberAdded: memberAdded, presence: presence)
        case .alreadySubscribed: return .alreadySubscribed(presence: presence)
        case .refused(let refusal): return .refused(refusal)
        }
    }

    public func leave(app: String, socketID: SocketID, channel: ChannelName) async throws {
        try await write { transaction in
            try await transaction.unsubscribe(
                app: app, socket: socketID.description, channel: channel.name,
                graceDeadline: transaction.graceDeadline)
        }
    }

    public func disconnect(app: String, socketID: SocketID) async throws {
        try await write { transaction in
            try await transaction.dropSocket(
                app: app, socket: socketID.description, graceDeadline: transaction.graceDeadline)
        }
    }

    public func heartbeat(node: NodeID) async throws -> NodeLease {
        let known = try await write(renewing: node, newNodeMustResync: false) { transaction in
            // A node first seen through a join (after its lease lapsed) still owes its snapshot.
            let owed = try await transaction.connection.returnsRow(
                "UPDATE usher_nodes SET must_resync = false WHERE node = \(node.description) AND must_resync RETURNING 1",
                logger: transaction.logger)
            return transaction.nodeWasKnown && !owed
        }
        return NodeLease(epoch: epoch, leaseMillis: configuration.presence.leaseMillis, resync: !known)
    }

    /// Applies a node's full snapshot as Core's `PresenceRegistry.replaceNode` does: new subscriptions join in
    /// snapshot order (never refused), then the node's unreported ones leave through grace, by app and socket id.
    public func replaceNode(_ node: NodeID, with subscriptions: [Subscription]) async throws {
        try await write(renewing: node, newNodeMustResync: false) { transaction in
            try await transaction.connection.query(
                "UPDATE usher_nodes SET must_resync = false WHERE node = \(node.description)", logger: transaction.logger)
            let reported = Set(subscriptions.map { [$0.app, $0.socketID.description, $0.channel.name] })
            // Most of a snapshot is usually known already: those only need the node to own their sockets, which two
            // set-based statements do; the rest join one by one, in snapshot order. (One round trip per reported
            // subscription held the write lock past the request timeout for a node of a few thousand sockets.)
            let known = try await Self.knownSubscriptions(among: subscriptions, transaction: transaction)
            try await transaction.connection.query(
                """
                INSERT INTO usher_sockets (app, socket_id, node)
                SELECT DISTINCT app, socket_id, \(node.description) FROM unnest(\(known.map { $0[0] })::text[], \(known.map { $0[1] })::text[])
                    AS r(app, socket_id)
                ON CONFLICT (app, socket_id) DO UPDATE SET node = excluded.node WHERE usher_sockets.node <> excluded.node
                """, logger: transaction.logger)
            for subscription in subscriptions where !known.contains([subscription.app, subscription.socketID.description, subscription.channel.name]) {
                _ = try await transaction.subscribe(subscription, node: node, limits: nil)
            }
            let owned = try await transaction.connection.rows(
                """
                SELECT s.app, s.socket_id, u.channel FROM usher_sockets s
                JOIN usher_subscriptions u ON u.app = s.app AND u.socket_id = s.socket_id
                WHERE s.node = \(node.description) ORDER BY s.app, s.socket_id, u.position
                """, logger: transaction.logger
            ) { try $0.decode((String, String, String).self) }
            let deadline = transaction.graceDeadline
            for (app, socket, channel) in owned where !reported.contains([app, socket, channel]) {
                try await transaction.unsubscribe(app: app, socket: socket, channel: channel, graceDeadline: deadline)
            }
        }
    }

    /// Which of `subscriptions` exist already, as `[app, socket id, channel]`.
    private static func knownSubscriptions(among subscriptions: [Subscription], transaction: PresenceTransaction) async throws -> Set<[String]> {
        guard !subscriptions.isEmpty else { return [] }
        let rows = try await transaction.connection.rows(
            """
            SELECT u.app, u.socket_id, u.channel FROM usher_subscriptions u
            JOIN unnest(\(subscriptions.map(\.app))::text[], \(subscriptions.map(\.socketID.description))::text[],
                \(subscriptions.map(\.channel.name))::text[]) AS r(app, socket_id, channel)
                ON u.app = r.app AND u.socket_id = r.socket_id AND u.channel = r.channel
            """, logger: transaction.logger
        ) { try $0.decode((String, String, String).self) }
        return Set(rows.map { [$0.0, $0.1, $0.2] })
    }

    /// Sweeps due grace periods and lapsed leases in deadline order (graces first at equal deadlines), then trims
    /// the event table to the retention.
    ///
    /// Any instance may call this at any time: the write lock serializes sweeps, and each due row is deleted by the
    /// first sweep that sees it, so every expiry happens (and is logged) exactly once across the deployment.
    public func advance() async throws {
        // Most ticks find nothing due: checking without the lock keeps idle instances from queueing behind joins.
        guard try await somethingIsDue() else { return }
        try await write { [retained = configuration.retainedEvents] transaction in
            try await Self.sweep(&transaction)
            try await transaction.connection.query(
                """
                DELETE FROM usher_events WHERE sequence <= (SELECT latest_sequence FROM usher_meta) - \(retained)
                """, logger: transaction.logger)
        }
    }

    public func append(kind: StreamEvent.Kind, app: String, userID: String) async throws {
        let event = PendingEvent(kind: kind, app: app, channel: nil, userID: userID, userInfo: nil)
        try await write(extra: [event]) { _ in }
    }

    /// Whether a grace, a lease or the retention is due, read without the write lock (the sweep re-reads under it).
    private func somethingIsDue() async throws -> Bool {
        let now = self.now?()
        let retained = configuration.retainedEvents
        return try await read { connection, logger in
            try await connection.rows(
                """
                WITH clock AS (
                    SELECT coalesce(\(now)::bigint, \(unescaped: Self.databaseClock)) AS now)
                SELECT EXISTS (SELECT 1 FROM usher_members, clock WHERE grace_deadline <= clock.now)
                    OR EXISTS (SELECT 1 FROM usher_nodes, clock WHERE lease_deadline <= clock.now)
                    OR (SELECT min(sequence) FROM usher_events) <= (SELECT latest_sequence FROM usher_meta) - \(retained)
                """, logger: logger
            ) { try $0.decode(Bool?.self) }.first == true
        }
    }

    private static func sweep(_ transaction: inout PresenceTransaction) async throws {
        let graces = try await transaction.connection.rows(
            """
            SELECT app, channel, user_id, grace_deadline, grace_ticket FROM usher_members
            WHERE grace_deadline <= \(transaction.now) ORDER BY grace_deadline, grace_ticket
            """, logger: transaction.logger
        ) { try $0.decode((String, String, String, Int64, Int64).self) }
        let leases = try await transaction.connection.rows(
            """
            SELECT node, lease_deadline FROM usher_nodes WHERE lease_deadline <= \(transaction.now)
            ORDER BY lease_deadline, node
            """, logger: transaction.logger
        ) { try $0.decode((String, Int64).self) }
        var (nextGrace, nextLease) = (graces.startIndex, leases.startIndex)
        var expiredLeases: Int64 = 0
        while nextGrace < graces.endIndex || nextLease < leases.endIndex {
            if nextGrace < graces.endIndex, nextLease == leases.endIndex || graces[nextGrace].3 <= leases[nextLease].1 {
                let (app, channel, userID, _, ticket) = graces[nextGrace]
                try await transaction.expireGrace(app: app, channel: channel, userID: userID, ticket: ticket)
                nextGrace += 1
            } else {
                try await transaction.expireLease(of: leases[nextLease].0)
                expiredLeases += 1
                nextLease += 1
            }
        }
        if expiredLeases > 0 {
            try await transaction.connection.query(
                "UPDATE usher_meta SET lease_expiries = lease_expiries + \(expiredLeases)", logger: transaction.logger)
        }
    }
}
