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

    /// Removes a member whose grace ran out, if it is still the grace `ticket` started.
    mutating func expireGrace(app: String, channel: String, userID: String, ticket: Int64) async throws {
        guard
            try await connection.returnsRow(
                """
                DELETE FROM usher_members WHERE app = \(app) AND channel = \(channel) AND user_id = \(userID)
                AND grace_ticket = \(ticket) RETURNING 1
                """, logger: logger)
        else { return }
        events.append(PresenceEvent(kind: .memberRemoved, app: app, channel: channel, userID: userID))
        try await vacateIfEmpty(app: app, channel: channel)
    }

    private mutating func vacateIfEmpty(app: String, channel: String) async throws {
        guard
            try await connection.returnsRow(
                """
                DELETE FROM usher_channels c WHERE app = \(app) AND channel = \(channel) AND socket_count = 0
                AND NOT EXISTS (SELECT 1 FROM usher_members m WHERE m.app = c.app AND m.channel = c.channel)
                RETURNING 1
                """, logger: logger)
        else { return }
        events.append(PresenceEvent(kind: .channelVacated, app: app, channel: channel))
    }
}
