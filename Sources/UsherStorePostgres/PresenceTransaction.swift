import Logging
import PostgresNIO
import UsherCore
import UsherCrypto

/// One transaction holding the store's write lock: the clock it read, the events its moves caused (in order), and
/// the sweeps of lapsed leases and graces, as Core's registry does them. Joins, leaves, disconnects and snapshots are
/// ``PresenceGroup``'s, run inside such a transaction.
///
/// Rows read under the write lock decide `member_added`/`member_removed`: the lock is taken before the first read, so
/// two instances racing on one user see each other's commits and never both add (or both remove) the member.
struct PresenceTransaction {
    let connection: PostgresConnection
    let logger: Logger
    /// Milliseconds on the deployment's shared clock, read once when the lock was taken.
    let now: Int64
    let configuration: PresenceRegistry.Configuration
    /// Whether the node whose lease the lock statement renewed already held one (false when none was renewed).
    let nodeWasKnown: Bool
    private(set) var events: [PresenceEvent] = []
    /// Events that are not presence transitions (`subscription_count`), logged after `events`.
    var otherEvents: [PendingEvent] = []
    /// Non-presence channels whose subscription count this transaction changed; published once it commits.
    private(set) var countChanges: Set<AppChannel> = []

    init(
        connection: PostgresConnection, logger: Logger, now: Int64, configuration: PresenceRegistry.Configuration,
        nodeWasKnown: Bool
    ) {
        self.connection = connection
        self.logger = logger
        self.now = now
        self.configuration = configuration
        self.nodeWasKnown = nodeWasKnown
    }

    /// The log's latest sequence once a group has logged this transaction's events itself (`PresenceGroup.save`).
    private(set) var loggedThrough: UInt64?

    /// The events not yet logged, as rows; they are then the caller's to log.
    mutating func takeEvents() -> [PendingEvent] {
        defer {
            events = []
            otherEvents = []
        }
        return events.map(PendingEvent.init) + otherEvents
    }

    /// Saves a group's changes and logs the events before it and the group's, in order.
    mutating func save(_ group: PresenceGroup) async throws {
        countChanges.formUnion(group.countChanges)
        let pending = takeEvents() + group.events.map(PendingEvent.init)
        if let latest = try await group.save(logging: pending, connection: connection, logger: logger) { loggedThrough = latest }
    }

    /// When a member whose last socket leaves now is removed, or nil when grace is off.
    var graceDeadline: Int64? { configuration.graceMillis > 0 ? now + configuration.graceMillis : nil }

    /// Drops every socket `node` owns, without grace, by app then socket id (Core's `expireLease`), and forgets it.
    ///
    /// Set-based, so a dead node costs five round trips under the write lock whatever its size (one `dropSocket` per
    /// socket held the lock for seconds with thousands). The first statement works out the events Core's loop
    /// emits, in its order: rows are numbered as the loop visits them (app, socket id, join order); a member whose
    /// sockets are all on the node is removed at its last row, and a channel whose sockets are all on it is vacated
    /// at its last row, right after that row's member, when every one of its members (those in grace count) goes too.
    mutating func expireLease(of node: String) async throws {
        try await connection.query("DELETE FROM usher_nodes WHERE node = \(node)", logger: logger)
        let lost = try await connection.rows(
            """
            WITH dead AS (
                SELECT s.app, s.channel, s.user_id, row_number() OVER (ORDER BY s.app, s.socket_id, s.position) AS ord
                FROM usher_subscriptions s JOIN usher_sockets k ON k.app = s.app AND k.socket_id = s.socket_id
                WHERE k.node = \(node)),
            member_loss AS (
                SELECT d.app, d.channel, d.user_id, max(d.ord) AS ord FROM dead d JOIN usher_members m
                    ON m.app = d.app AND m.channel = d.channel AND m.user_id = d.user_id
                GROUP BY d.app, d.channel, d.user_id, m.socket_count HAVING count(*) = m.socket_count),
            channel_loss AS (
                SELECT d.app, d.channel, max(d.ord) AS ord FROM dead d JOIN usher_channels c
                    ON c.app = d.app AND c.channel = d.channel
                GROUP BY d.app, d.channel, c.socket_count HAVING count(*) = c.socket_count)
            SELECT ord, 0 AS step, app, channel, user_id FROM member_loss
            UNION ALL
            SELECT l.ord, 1, l.app, l.channel, NULL FROM channel_loss l
            WHERE (SELECT count(*) FROM usher_members m WHERE m.app = l.app AND m.channel = l.channel)
                = (SELECT count(*) FROM member_loss r WHERE r.app = l.app AND r.channel = l.channel)
            ORDER BY 1, 2
            """, logger: logger
        ) { try $0.decode((Int64, Int32, String, String, String?).self) }
        let counted = try await connection.rows(
            """
            WITH gone AS (
                DELETE FROM usher_subscriptions s USING usher_sockets k
                WHERE k.node = \(node) AND s.app = k.app AND s.socket_id = k.socket_id
                RETURNING s.app, s.channel, s.user_id),
            channels AS (
                UPDATE usher_channels c SET socket_count = c.socket_count - g.n
                FROM (SELECT app, channel, count(*)::int AS n FROM gone GROUP BY app, channel) g
                WHERE c.app = g.app AND c.channel = g.channel RETURNING 1),
            members AS (
                UPDATE usher_members m SET socket_count = m.socket_count - g.n
                FROM (SELECT app, channel, user_id, count(*)::int AS n FROM gone WHERE user_id IS NOT NULL
                    GROUP BY app, channel, user_id) g
                WHERE m.app = g.app AND m.channel = g.channel AND m.user_id = g.user_id RETURNING 1),
            dropped AS (DELETE FROM usher_sockets WHERE node = \(node) RETURNING 1)
            SELECT DISTINCT g.app, g.channel FROM gone g JOIN usher_channels c ON c.app = g.app AND c.channel = g.channel
            WHERE NOT c.is_presence
            """, logger: logger
        ) { try $0.decode((String, String).self) }
        for (app, channel) in counted { countChanges.insert(AppChannel(app: app, channel: channel)) }
        var removed: (apps: [String], channels: [String], users: [String]) = ([], [], [])
        var vacated: (apps: [String], channels: [String]) = ([], [])
        for (_, _, app, channel, userID) in lost {
            if let userID {
                removed.apps.append(app)
                removed.channels.append(channel)
                removed.users.append(userID)
                events.append(PresenceEvent(kind: .memberRemoved, app: app, channel: channel, userID: userID))
            } else {
                vacated.apps.append(app)
                vacated.channels.append(channel)
                events.append(PresenceEvent(kind: .channelVacated, app: app, channel: channel))
            }
        }
        try await connection.query(
            """
            DELETE FROM usher_members WHERE (app, channel, user_id) IN
                (SELECT * FROM unnest(\(removed.apps)::text[], \(removed.channels)::text[], \(removed.users)::text[]))
            """, logger: logger)
        try await connection.query(
            """
            DELETE FROM usher_channels WHERE (app, channel) IN
                (SELECT * FROM unnest(\(vacated.apps)::text[], \(vacated.channels)::text[]))
            """, logger: logger)
    }

    /// Ends the graces due by `deadline`, at most `limit` of them, in deadline order (Core's `expireGraces`): each
    /// member is removed, and a channel left with no member and no socket is vacated right after its last removal.
    /// Returns how many ended; `limit` of them means more may be due.
    ///
    /// Set-based, two round trips whatever the count: one grace per statement made a reconnect storm's thousands of
    /// due graces outlast the store timeout, so the sweep rolled back on every tick and never caught up.
    mutating func expireGraces(dueBy deadline: Int64, limit: Int) async throws -> Int {
        let removed = try await connection.rows(
            """
            WITH due AS (
                SELECT app, channel, user_id, grace_deadline, grace_ticket FROM usher_members
                WHERE grace_deadline <= \(deadline) ORDER BY grace_deadline, grace_ticket LIMIT \(limit)),
            gone AS (
                DELETE FROM usher_members m USING due d
                WHERE m.app = d.app AND m.channel = d.channel AND m.user_id = d.user_id
                RETURNING m.app, m.channel, m.user_id, d.grace_deadline, d.grace_ticket)
            SELECT app, channel, user_id FROM gone ORDER BY grace_deadline, grace_ticket
            """, logger: logger
        ) { try $0.decode((String, String, String).self) }
        guard !removed.isEmpty else { return 0 }
        let vacated = try await connection.rows(
            """
            DELETE FROM usher_channels c
            USING unnest(\(removed.map(\.0))::text[], \(removed.map(\.1))::text[]) AS r(app, channel)
            WHERE c.app = r.app AND c.channel = r.channel AND c.socket_count = 0
            AND NOT EXISTS (SELECT 1 FROM usher_members m WHERE m.app = c.app AND m.channel = c.channel)
            RETURNING c.app, c.channel
            """, logger: logger
        ) { try $0.decode((String, String).self) }
        // A vacated channel's event follows its last member's removal.
        var last: [AppChannel: Int] = [:]
        for (index, (app, channel, _)) in removed.enumerated() { last[AppChannel(app: app, channel: channel)] = index }
        var vacatedAfter: [Int: [AppChannel]] = [:]
        for (app, channel) in vacated {
            let key = AppChannel(app: app, channel: channel)
            if let index = last[key] { vacatedAfter[index, default: []].append(key) }
        }
        for (index, (app, channel, userID)) in removed.enumerated() {
            events.append(PresenceEvent(kind: .memberRemoved, app: app, channel: channel, userID: userID))
            for key in vacatedAfter[index] ?? [] { events.append(PresenceEvent(kind: .channelVacated, app: key.app, channel: key.channel)) }
        }
        return removed.count
    }
}
