import PostgresNIO
public import UsherCore
import UsherCrypto

extension PostgresPresenceStore {
    public func apply(_ writes: [PresenceWrite]) async throws -> [PresenceWriteResult] {
        try await commit.submit(writes) { group in try await self.applyGroup(group) }
    }

    public func apply(_ writes: [PresenceWrite], complete: @escaping @Sendable (Result<[PresenceWriteResult], any Error>) -> Void) {
        commit.submit(writes, apply: { group in try await self.applyGroup(group) }, complete: complete)
    }

    /// Applies one group in one transaction under the write lock, renewing every node the group names.
    private func applyGroup(_ writes: [PresenceWrite]) async throws(PostgresStoreError) -> [PresenceWriteResult] {
        var nodes: [NodeID] = []
        for write in writes {
            switch write {
            case .join(_, let node, _, _), .renew(let node): nodes.append(node)
            case .leave, .disconnect: break
            }
        }
        // The rosters are this group's until it commits; if it fails, the next group starts without them.
        let epoch = self.epoch
        let (results, kept) = try await write(renewing: nodes) { transaction in
            // Taken, not copied, so that updating it in place does not copy every roster.
            var cache = self.rosters.withLock { cache in
                defer { cache = RosterCache() }
                return cache
            }
            var group = try await PresenceGroup.load(
                writes, graceDeadline: transaction.graceDeadline, rosters: &cache, epoch: epoch, connection: transaction.connection,
                logger: transaction.logger)
            let results = writes.map { group.apply($0) }
            try await transaction.save(group)
            group.keep(in: &cache, through: transaction.loggedThrough ?? group.loadedThrough, epoch: epoch)
            return (results, cache)
        }
        rosters.withLock { $0 = kept }
        return results
    }

    public func heartbeat(node: NodeID, forwardURL: String? = nil, connections: [String: Int]? = nil) async throws -> NodeLease {
        let reported = connections.map { counts in
            JSONValue.object(counts.mapValues { .integer(Int64($0)) }).jsonText
        }
        let (known, peers, elsewhere) = try await write(renewing: [node], newNodeMustResync: false) { transaction in
            // A node first seen through a join (after its lease lapsed) still owes its snapshot; the answer lists the
            // other nodes with a live lease and a forward URL, as every instance sees them, and the connections the
            // live nodes reported, per app (kind 3: app and total).
            let rows = try await transaction.connection.rows(
                """
                WITH before AS (SELECT must_resync FROM usher_nodes WHERE node = \(node.description)),
                renewed AS (
                    UPDATE usher_nodes SET must_resync = false, forward_url = coalesce(\(forwardURL), forward_url),
                        connections = coalesce(\(reported)::jsonb, connections)
                    WHERE node = \(node.description) RETURNING 1)
                SELECT 1, NULL, NULL, coalesce((SELECT must_resync FROM before), false), NULL::bigint
                UNION ALL
                SELECT 2, node, forward_url, NULL, NULL FROM usher_nodes
                WHERE node <> \(node.description) AND forward_url IS NOT NULL AND lease_deadline > \(transaction.now)
                UNION ALL
                SELECT 3, c.key, NULL, NULL, sum(c.value::bigint)::bigint FROM usher_nodes n, jsonb_each_text(n.connections) c
                WHERE n.node <> \(node.description) AND n.lease_deadline > \(transaction.now) AND jsonb_typeof(n.connections) = 'object'
                GROUP BY c.key
                """, logger: transaction.logger
            ) { try $0.decode((Int, String?, String?, Bool?, Int64?).self) }
            var owed = false
            var peers: [NodePeer] = []
            var elsewhere: [String: Int] = [:]
            for (kind, name, url, flag, total) in rows {
                switch kind {
                case 1: owed = flag ?? false
                case 2: if let name, let url, let peer = try? NodeID(validating: name) { peers.append(NodePeer(node: peer, forwardURL: url)) }
                default: if let name, let total { elsewhere[name] = Int(total) }
                }
            }
            return (transaction.nodeWasKnown && !owed, peers.sorted { $0.node < $1.node }, elsewhere)
        }
        return NodeLease(
            epoch: epoch, leaseMillis: configuration.presence.leaseMillis, resync: !known, peers: peers, connections: elsewhere)
    }

    /// Applies a node's full snapshot as Core's `PresenceRegistry.replaceNode` does, in a fixed number of set-based
    /// statements whatever its size (see ``PresenceGroup/replace(node:with:)``).
    public func replaceNode(_ node: NodeID, with subscriptions: [Subscription]) async throws {
        try await write(renewing: [node], newNodeMustResync: false) { transaction in
            try await transaction.connection.query(
                "UPDATE usher_nodes SET must_resync = false WHERE node = \(node.description)", logger: transaction.logger)
            // A snapshot answers no member list: no rosters to read (the groups' cache catches up from the log).
            var noRosters = RosterCache()
            var group = try await PresenceGroup.load(
                subscriptions.map { .join($0, node: node, limits: PresenceLimits(), wantsPresence: false) }, socketsOf: node,
                graceDeadline: transaction.graceDeadline, rosters: &noRosters, epoch: "", connection: transaction.connection,
                logger: transaction.logger)
            group.replace(node: node, with: subscriptions)
            try await transaction.save(group)
        }
    }

    /// Sweeps due grace periods and lapsed leases in deadline order (graces first at equal deadlines), then trims
    /// the event table to the retention.
    ///
    /// Any instance may call this at any time: the write lock serializes sweeps, and each due row is deleted by the
    /// first sweep that sees it, so every expiry happens (and is logged) exactly once across the deployment.
    public func advance() async throws {
        // Most ticks find nothing due: checking without the lock keeps idle instances from queueing behind joins.
        guard try await somethingIsDue() else { return }
        var more = true
        while more {
            more = try await write { [retained = configuration.retainedEvents] transaction in
                let more = try await Self.sweep(&transaction)
                // A range from the oldest row, so the planner walks the index instead of guessing that a third of the
                // log is due and scanning all of it.
                try await transaction.connection.query(
                    """
                    DELETE FROM usher_events WHERE sequence
                        BETWEEN (SELECT min(sequence) FROM usher_events) AND (SELECT latest_sequence FROM usher_meta) - \(retained)
                    """, logger: transaction.logger)
                return more
            }
        }
    }

    /// Under the write lock like every logged event; the further members travel in the row's `user_info` column.
    public func append(_ events: [AppendedEvent]) async throws {
        guard !events.isEmpty else { return }
        let pending = events.map { PendingEvent(kind: $0.kind, app: $0.app, channel: $0.channel, userID: $0.userID, userInfo: $0.extra) }
        try await write(extra: pending) { _ in }
    }

    public func takeCountChanges() -> Set<AppChannel> {
        countChanges.withLock { changes in
            defer { changes = [] }
            return changes
        }
    }

    /// Reads the counts under the write lock, so each event's count is the one true at its place in the log. The
    /// count travels in the row's `user_info` column.
    public func appendSubscriptionCounts(_ channels: [AppChannel]) async throws {
        guard !channels.isEmpty else { return }
        try await write { transaction in
            let counts = try await transaction.connection.rows(
                """
                SELECT coalesce(c.socket_count, 0) FROM unnest(\(channels.map(\.app))::text[], \(channels.map(\.channel))::text[])
                    WITH ORDINALITY AS r(app, channel, ordinal)
                LEFT JOIN usher_channels c ON c.app = r.app AND c.channel = r.channel ORDER BY r.ordinal
                """, logger: transaction.logger
            ) { try $0.decode(Int.self) }
            transaction.otherEvents = zip(channels, counts).map { channel, count in
                PendingEvent(kind: .subscriptionCount, app: channel.app, channel: channel.channel, userID: nil, userInfo: String(count))
            }
        }
    }

    /// Whether a grace, a lease or the retention is due, read without the write lock (the sweep re-reads under it).
    ///
    /// The earliest grace is read as a `min` (the end of the grace index), never as `EXISTS (… WHERE grace_deadline <=
    /// now)`: without statistics the planner expects a third of all members to match that, scans the table for the
    /// first one and, when none is in grace, reads every member at every tick.
    private func somethingIsDue() async throws -> Bool {
        let now = self.now?()
        let retained = configuration.retainedEvents
        return try await read { connection, logger in
            try await connection.rows(
                """
                WITH clock AS (
                    SELECT coalesce(\(now)::bigint, \(unescaped: Self.databaseClock)) AS now)
                SELECT (SELECT min(grace_deadline) FROM usher_members) <= (SELECT now FROM clock)
                    OR EXISTS (SELECT 1 FROM usher_nodes, clock WHERE lease_deadline <= clock.now)
                    OR (SELECT min(sequence) FROM usher_events) <= (SELECT latest_sequence FROM usher_meta) - \(retained)
                """, logger: logger
            ) { try $0.decode(Bool?.self) }.first == true
        }
    }

    /// Graces ended in one sweep transaction, at most: a backlog (a reconnect storm's disconnects) is worked off in
    /// several short transactions rather than one that could outlast the store timeout.
    static let maxGracesPerSweep = 2000

    /// Ends due graces and leases in deadline order (graces first at equal deadlines), as Core's registry does: the
    /// graces due by each lapsed lease's deadline in one set-based statement, then that lease. Returns whether it
    /// stopped at ``maxGracesPerSweep`` with more graces possibly due.
    private static func sweep(_ transaction: inout PresenceTransaction) async throws -> Bool {
        let leases = try await transaction.connection.rows(
            """
            SELECT node, lease_deadline FROM usher_nodes WHERE lease_deadline <= \(transaction.now)
            ORDER BY lease_deadline, node
            """, logger: transaction.logger
        ) { try $0.decode((String, Int64).self) }
        var budget = maxGracesPerSweep
        var expiredLeases: Int64 = 0
        for index in 0...leases.count {
            let dueBy = index < leases.count ? leases[index].1 : transaction.now
            budget -= try await transaction.expireGraces(dueBy: dueBy, limit: budget)
            // Out of budget: graces due before this lease may be left, so the lease waits for the next sweep.
            if budget == 0 || index == leases.count { break }
            try await transaction.expireLease(of: leases[index].0)
            expiredLeases += 1
        }
        if expiredLeases > 0 {
            try await transaction.connection.query(
                "UPDATE usher_meta SET lease_expiries = lease_expiries + \(expiredLeases)", logger: transaction.logger)
        }
        return budget == 0
    }
}
