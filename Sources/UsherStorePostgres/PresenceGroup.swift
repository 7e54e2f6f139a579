import Logging
import PostgresNIO
import UsherCore
import UsherCrypto

/// One group commit in PostgreSQL: a group's joins, leaves and disconnects applied as Core's `AppState` applies
/// them, in order, to the rows they touch, loaded and written back with a fixed number of set-based statements
/// whatever the group's size (DESIGN.md, Stores).
///
/// Runs inside the transaction that holds the write lock, so the rows read stay true until commit. The rules are
/// Core's, restated over rows: a user's first socket on a presence channel adds the member (`channel_occupied`
/// first when the channel was vacant), a further socket only counts, a member in grace who rejoins causes nothing; a
/// member's last socket starts grace (or removes the member when grace is off); a channel with no sockets and no
/// members is vacated; a socket belongs to the last node that reported it. `PostgresModelTests` checks every
/// result, event and row against Core's registry, batches included.
struct PresenceGroup {
    struct SocketKey: Hashable {
        let app: String
        let socketID: String
    }

    struct ChannelKey: Hashable {
        let app: String
        let channel: String
    }

    struct SubscriptionKey: Hashable {
        let app: String
        let socketID: String
        let channel: String
    }

    struct MemberKey: Hashable {
        let app: String
        let channel: String
        let userID: String
    }

    /// A socket as loaded, then as the group leaves it.
    struct SocketRow {
        var node: String
        /// Its subscriptions in join order; `created` marks those made by this group (their rows are inserted).
        var subscriptions: [(channel: String, userID: String?, created: Int?)]
        let existed: Bool
        var exists = true
        var dirty = false
    }

    struct ChannelRow {
        let isPresence: Bool
        var socketCount: Int
        /// Members including those in grace.
        var memberCount: Int
        let existed: Bool
        var exists: Bool
        var dirty = false
    }

    struct MemberRow {
        var userInfo: String?
        /// Sockets; 0 while in grace.
        var socketCount: Int
        var graceDeadline: Int64?
        /// The ticket of a grace loaded from the database.
        var graceTicket: Int64?
        /// The position of a grace this group started among the group's graces (its ticket is assigned on write).
        var graceOrdinal: Int?
        let existed: Bool
        var exists: Bool
        var dirty = false
    }

    let graceDeadline: Int64?
    private(set) var events: [PresenceEvent] = []
    /// Non-presence channels whose subscription count the group changed (their counts are published).
    private(set) var countChanges: Set<AppChannel> = []
    private var sockets: [SocketKey: SocketRow] = [:]
    private var channels: [ChannelKey: ChannelRow] = [:]
    private var members: [MemberKey: MemberRow] = [:]
    /// Every member of the channels whose joins answer the member list.
    private var rosters: [ChannelKey: Roster] = [:]

    /// A channel's members (user id → user_info text) and their listing, kept while members only arrive.
    struct Roster: Sendable {
        var members: [String: String?] = [:]
        var listing: PresenceListing?

        mutating func add(_ userID: String, info: String?) {
            members[userID] = .some(info)
            listing?.append(userID: userID, userInfoJSON: info)
        }

        mutating func remove(_ userID: String) {
            members[userID] = nil
            listing = nil
        }

        mutating func snapshot() -> PresenceSnapshot? {
            guard !members.isEmpty else { return nil }
            if listing == nil {
                var built = PresenceListing()
                for (userID, info) in members { built.append(userID: userID, userInfoJSON: info) }
                listing = built
            }
            return listing?.snapshot
        }
    }
    /// Subscription rows loaded that the group deleted (or replaced by a newer row of the same key).
    private var deletedSubscriptions: [(app: String, socketID: String, channel: String)] = []
    private var createdCount = 0
    private var graceCount = 0

    /// The log's latest sequence when the group was loaded.
    private(set) var loadedThrough: UInt64 = 0

    /// Loads the rows `writes` touch, and every socket `owner` holds (for a snapshot), in one statement (two when
    /// `cache` could not be caught up).
    ///
    /// The member lists the joins answer come from `cache` where it holds them, after it caught up with the member
    /// events logged since it was last true; the others are read whole.
    static func load(
        _ writes: [PresenceWrite], socketsOf owner: NodeID? = nil, graceDeadline: Int64?, rosters cache: inout RosterCache,
        epoch: String, connection: PostgresConnection, logger: Logger
    ) async throws -> PresenceGroup {
        var group = PresenceGroup(graceDeadline: graceDeadline)
        var socketKeys = Set<SocketKey>()
        var channelKeys = Set<ChannelKey>()
        var memberKeys = Set<MemberKey>()
        var listed = Set<ChannelKey>()
        for write in writes {
            switch write {
            case .join(let subscription, _, _, let wantsPresence):
                socketKeys.insert(SocketKey(app: subscription.app, socketID: subscription.socketID.description))
                let channel = ChannelKey(app: subscription.app, channel: subscription.channel.name)
                channelKeys.insert(channel)
                if let member = subscription.member {
                    memberKeys.insert(MemberKey(app: channel.app, channel: channel.channel, userID: member.userID))
                    if wantsPresence, subscription.channel.kind == .presence { listed.insert(channel) }
                }
            case .leave(let app, let socketID, let channel):
                socketKeys.insert(SocketKey(app: app, socketID: socketID.description))
                channelKeys.insert(ChannelKey(app: app, channel: channel.name))
            case .disconnect(let app, let socketID):
                socketKeys.insert(SocketKey(app: app, socketID: socketID.description))
            case .renew:
                break
            }
        }
        let catchUp = cache.through.flatMap { $0.epoch == epoch ? $0.sequence : nil }
        if catchUp == nil { cache.clear() }
        let cached = listed.filter { cache.rosters[$0] != nil }
        for channel in listed { group.rosters[channel] = Roster() }
        // One statement, three kinds of row (tagged in the first column, columns shared by position):
        //   1: the sockets touched (and `owner`'s) with their subscriptions, in join order;
        //   2: the channels of the writes and of those subscriptions — listed channels are counted from their
        //      rosters instead (kind 3), so their members are read once, not twice;
        //   3: the members of the writes and of those subscriptions;
        //   4: the roster of every listed channel, as arrays (one row per channel, not per member).
        // The group's keys are looked up one by one through their primary keys (`LATERAL (… LIMIT 1)` or `OFFSET 0`,
        // which the planner cannot turn into a set join): joined as sets, they were hash-joined against whole tables
        // while the tables had no statistics yet (a new deployment, a storm), an O(table) read per group. The
        // catch-up read of the log is bounded on both sides for the same reason.
        let statement = LoadStatement(
            sockets: Array(socketKeys), channels: Array(channelKeys), listed: listed, cached: cached, members: Array(memberKeys),
            owner: owner?.description, catchUp: catchUp.map(Int64.init))
        let rows = try await connection.rows(statement, logger: logger) {
            try $0.decode((Int, String, String, String?, String?, String?, Int64?, Bool?, Int?, Int?, Int64?, [String]?, [String]?).self)
        }
        var caughtUp: [(kind: StreamEvent.Kind, key: ChannelKey, userID: String?, userInfo: String?)] = []
        for (kind, app, name, c3, c4, c5, c6, isPresence, socketCount, memberCount, ticket, ids, infos) in rows {
            switch kind {
            case 1:  // app, socket_id, node, channel?, user_id?
                let key = SocketKey(app: app, socketID: name)
                if group.sockets[key] == nil { group.sockets[key] = SocketRow(node: c3 ?? "", subscriptions: [], existed: true) }
                if let channel = c4 { group.sockets[key]?.subscriptions.append((channel: channel, userID: c5, created: nil)) }
            case 2:  // app, channel, is_presence, socket_count, member count
                group.channels[ChannelKey(app: app, channel: name)] = ChannelRow(
                    isPresence: isPresence ?? false, socketCount: socketCount ?? 0, memberCount: memberCount ?? 0, existed: true,
                    exists: true)
            case 0:  // the log's latest sequence
                group.loadedThrough = UInt64(c6 ?? 0)
            case 5:  // a logged event after the cache's point: app, channel, user_id, user_info, kind, sequence
                caughtUp.append((StreamEvent.Kind(rawValue: c5 ?? "") ?? .channelOccupied, ChannelKey(app: app, channel: name), c3, c4))
            case 3:  // app, channel, user_id, user_info, grace_deadline, socket_count, grace_ticket
                guard let userID = c3 else { throw PostgresStoreError.corruptRow }
                group.members[MemberKey(app: app, channel: name, userID: userID)] = MemberRow(
                    userInfo: c4, socketCount: socketCount ?? 0, graceDeadline: c6, graceTicket: ticket, existed: true, exists: true)
            default:  // app, channel, the roster as two arrays (user ids, user_info texts with '' for none)
                guard let ids, let infos, ids.count == infos.count else { throw PostgresStoreError.corruptRow }
                let key = ChannelKey(app: app, channel: name)
                for (userID, info) in zip(ids, infos) { group.rosters[key]?.add(userID, info: info.isEmpty ? nil : info) }
            }
        }
        // The cache is true at `loadedThrough` if every event since its point was read (they are numbered without gaps,
        // and retention trims only the oldest); otherwise it is dropped and its channels' rosters read whole.
        // Dropped also when this group needs none of its rosters: `keep` marks the cache true at the new point.
        if let catchUp, group.loadedThrough >= catchUp, UInt64(caughtUp.count) == group.loadedThrough - catchUp {
            cache.apply(caughtUp)
            for channel in cached { group.rosters[channel] = cache.rosters[channel] }
        } else {
            cache.clear()
            if !cached.isEmpty { try await group.loadRosters(Array(cached), connection: connection, logger: logger) }
        }
        for (channel, roster) in group.rosters { group.channels[channel]?.memberCount = roster.members.count }
        return group
    }

    /// `load`'s statement: the rows of the group's `sockets`, `channels` and `members` (and `owner`'s sockets), the
    /// rosters of the `listed` channels not `cached`, and the member events after `catchUp`.
    struct LoadStatement: PreparedQuery {
        static let sql = LoadStatement(sockets: [], channels: [], listed: [], cached: [], members: [], owner: nil, catchUp: nil).query.sql
        let query: PostgresQuery

        init(
            sockets socketList: [SocketKey], channels channelList: [ChannelKey], listed: Set<ChannelKey>, cached: Set<ChannelKey>,
            members memberList: [MemberKey], owner: String?, catchUp: Int64?
        ) {
            query = """
                WITH ks AS (
                    SELECT k.app, k.socket_id, k.node
                    FROM unnest(\(socketList.map(\.app))::text[], \(socketList.map(\.socketID))::text[]) AS r(app, socket_id)
                    CROSS JOIN LATERAL (
                        SELECT * FROM usher_sockets k WHERE k.app = r.app AND k.socket_id = r.socket_id LIMIT 1) k
                    UNION
                    SELECT app, socket_id, node FROM usher_sockets WHERE node = \(owner)),
                subs AS (
                    SELECT k.app, k.socket_id, k.node, s.channel, s.user_id, s.position FROM ks k
                    LEFT JOIN LATERAL (
                        SELECT channel, user_id, position FROM usher_subscriptions s
                        WHERE s.app = k.app AND s.socket_id = k.socket_id OFFSET 0) s ON true),
                ck AS (
                    SELECT app, channel, bool_or(listed) AS listed, bool_or(read_roster) AS read_roster FROM (
                        SELECT * FROM unnest(\(channelList.map(\.app))::text[], \(channelList.map(\.channel))::text[],
                            \(channelList.map(listed.contains))::boolean[],
                            \(channelList.map { listed.contains($0) && !cached.contains($0) })::boolean[]) AS r(app, channel, listed, read_roster)
                        UNION ALL
                        SELECT app, channel, false, false FROM subs WHERE channel IS NOT NULL) c
                    GROUP BY app, channel),
                mk AS (
                    SELECT * FROM unnest(\(memberList.map(\.app))::text[], \(memberList.map(\.channel))::text[],
                        \(memberList.map(\.userID))::text[]) AS r(app, channel, user_id)
                    UNION
                    SELECT app, channel, user_id FROM subs WHERE user_id IS NOT NULL),
                mems AS (
                    SELECT m.* FROM mk CROSS JOIN LATERAL (
                        SELECT * FROM usher_members m WHERE m.app = mk.app AND m.channel = mk.channel AND m.user_id = mk.user_id
                        LIMIT 1) m)
                SELECT 1 AS kind, app, socket_id, node, channel, user_id, position, NULL::boolean, NULL::int, NULL::int, NULL::bigint,
                    NULL::text[], NULL::text[]
                FROM subs
                UNION ALL
                SELECT 2, c.app, c.channel, NULL, NULL, NULL, NULL, c.is_presence, c.socket_count,
                    CASE WHEN ck.listed THEN 0
                        ELSE (SELECT count(*) FROM usher_members m WHERE m.app = c.app AND m.channel = c.channel)::int END,
                    NULL, NULL, NULL
                FROM ck CROSS JOIN LATERAL (
                    SELECT * FROM usher_channels c WHERE c.app = ck.app AND c.channel = ck.channel LIMIT 1) c
                UNION ALL
                SELECT 3, app, channel, user_id, user_info, NULL, grace_deadline, NULL, socket_count, NULL, grace_ticket, NULL, NULL
                FROM mems
                UNION ALL
                SELECT 4, ck.app, ck.channel, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, array_agg(m.user_id),
                    array_agg(coalesce(m.user_info, ''))
                FROM ck CROSS JOIN LATERAL (
                    SELECT user_id, user_info FROM usher_members m WHERE m.app = ck.app AND m.channel = ck.channel OFFSET 0) m
                WHERE ck.read_roster
                GROUP BY ck.app, ck.channel
                UNION ALL
                SELECT 0, '', '', NULL, NULL, NULL, latest_sequence, NULL, NULL, NULL, NULL, NULL, NULL FROM usher_meta
                UNION ALL
                SELECT 5, e.app, coalesce(e.channel, ''), e.user_id, e.user_info, e.kind, e.sequence, NULL, NULL, NULL, NULL, NULL, NULL
                FROM (SELECT * FROM usher_events WHERE sequence > \(catchUp)::bigint
                    AND sequence <= \(catchUp.map { $0 + Int64(RosterCache.maxCatchUp) + 1 })::bigint ORDER BY sequence
                    LIMIT \(RosterCache.maxCatchUp + 1)) e
                ORDER BY 1, 2, 3, 7
                """
        }
    }

    /// Reads the whole rosters of `channels` (when the cache could not supply them).
    private mutating func loadRosters(_ channels: [ChannelKey], connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.rows(
            """
            SELECT m.app, m.channel, m.user_id, m.user_info FROM usher_members m
            JOIN unnest(\(channels.map(\.app))::text[], \(channels.map(\.channel))::text[]) AS r(app, channel)
                ON m.app = r.app AND m.channel = r.channel
            """, logger: logger
        ) { try $0.decode((String, String, String, String?).self) }
        for (app, channel, userID, info) in rows { rosters[ChannelKey(app: app, channel: channel)]?.add(userID, info: info) }
    }

    /// Hands the rosters this group ends with, and its member events on channels it held no roster of, to `cache`,
    /// which is then true at `sequence` once the group's transaction commits (the caller keeps it only then).
    func keep(in cache: inout RosterCache, through sequence: UInt64, epoch: String) {
        let events = events.filter { rosters[ChannelKey(app: $0.app, channel: $0.channel)] == nil }.map(PendingEvent.init)
        cache.apply(events.map { ($0.kind, ChannelKey(app: $0.app, channel: $0.channel ?? ""), $0.userID, $0.userInfo) })
        cache.store(rosters, through: sequence, epoch: epoch)
    }

    private init(graceDeadline: Int64?) {
        self.graceDeadline = graceDeadline
    }

    /// Applies one write, as the single call would after the writes before it.
    mutating func apply(_ write: PresenceWrite) -> PresenceWriteResult {
        switch write {
        case .join(let subscription, let node, let limits, let wantsPresence):
            return .joined(join(subscription, node: node.description, limits: limits, wantsPresence: wantsPresence))
        case .leave(let app, let socketID, let channel):
            leave(SocketKey(app: app, socketID: socketID.description), channel: channel.name)
        case .disconnect(let app, let socketID):
            disconnect(SocketKey(app: app, socketID: socketID.description))
        case .renew:
            break
        }
        return .done
    }

    /// Applies a node's full snapshot as Core's `PresenceRegistry.replaceNode` does: every reported subscription joins
    /// in snapshot order (never refused: the sockets exist already; a known one only moves to `node`), then the
    /// subscriptions `node` holds but did not report leave through grace, by app and socket id, each socket's channels
    /// in join order. The group must have been loaded with `socketsOf: node`.
    mutating func replace(node: NodeID, with subscriptions: [Subscription]) {
        let owner = node.description
        var reported = Set<SubscriptionKey>(minimumCapacity: subscriptions.count)
        for subscription in subscriptions {
            _ = join(subscription, node: owner, limits: nil, wantsPresence: false)
            reported.insert(
                SubscriptionKey(app: subscription.app, socketID: subscription.socketID.description, channel: subscription.channel.name))
        }
        let owned = sockets.filter { $0.value.exists && $0.value.node == owner }.sorted {
            $0.key.app != $1.key.app ? $0.key.app < $1.key.app : $0.key.socketID < $1.key.socketID
        }
        for (key, socket) in owned {
            for record in socket.subscriptions
            where !reported.contains(SubscriptionKey(app: key.app, socketID: key.socketID, channel: record.channel)) {
                leave(key, channel: record.channel)
            }
        }
    }

    private mutating func join(_ subscription: Subscription, node: String, limits: PresenceLimits?, wantsPresence: Bool) -> JoinResult {
        let socketKey = SocketKey(app: subscription.app, socketID: subscription.socketID.description)
        let channelKey = ChannelKey(app: subscription.app, channel: subscription.channel.name)
        // Server-to-user channels track their user as a member, but only presence joins answer a member list.
        let isPresence = subscription.channel.kind.hasMembers
        func presence() -> PresenceSnapshot? {
            guard wantsPresence, subscription.channel.kind == .presence else { return nil }
            return rosters[channelKey]?.snapshot()
        }
        if let socket = sockets[socketKey], socket.exists, socket.subscriptions.contains(where: { $0.channel == channelKey.channel }) {
            claim(socketKey, for: node)
            return .alreadySubscribed(presence: presence())
        }
        var channel = channels[channelKey] ?? ChannelRow(isPresence: isPresence, socketCount: 0, memberCount: 0, existed: false, exists: false)
        let occupied = !channel.exists
        var memberAdded = false
        if isPresence, let member = subscription.member {
            let memberKey = MemberKey(app: channelKey.app, channel: channelKey.channel, userID: member.userID)
            if var row = members[memberKey], row.exists {
                // Another socket, or a rejoin within grace: counted, no events, the first user_info kept.
                row.socketCount += 1
                row.graceDeadline = nil
                row.graceTicket = nil
                row.graceOrdinal = nil
                row.dirty = true
                members[memberKey] = row
            } else {
                if let limits, channel.memberCount >= limits.maxMembers { return .refused(.membersFull) }
                let info = member.userInfoJSON
                members[memberKey] = MemberRow(
                    userInfo: info, socketCount: 1, graceDeadline: nil, graceTicket: nil,
                    existed: members[memberKey]?.existed ?? false, exists: true, dirty: true)
                rosters[channelKey]?.add(member.userID, info: info)
                channel.memberCount += 1
                memberAdded = true
            }
        }
        channel.socketCount += 1
        channel.exists = true
        channel.dirty = true
        channels[channelKey] = channel
        if !isPresence { countChanges.insert(AppChannel(app: channelKey.app, channel: channelKey.channel)) }
        if occupied { events.append(PresenceEvent(kind: .channelOccupied, app: channelKey.app, channel: channelKey.channel)) }
        if memberAdded, let member = subscription.member {
            events.append(
                PresenceEvent(kind: .memberAdded, app: channelKey.app, channel: channelKey.channel, userID: member.userID, userInfoJSON: member.userInfoJSON))
        }
        createdCount += 1
        let record = (channel: channelKey.channel, userID: subscription.member?.userID, created: Optional(createdCount))
        if var socket = sockets[socketKey], socket.exists {
            socket.subscriptions.append(record)
            sockets[socketKey] = socket
            claim(socketKey, for: node)
        } else {
            sockets[socketKey] = SocketRow(
                node: node, subscriptions: [record], existed: sockets[socketKey]?.existed ?? false, exists: true, dirty: true)
        }
        return .joined(memberAdded: memberAdded, presence: presence())
    }

    private mutating func claim(_ key: SocketKey, for node: String) {
        guard sockets[key]?.node != node else { return }
        sockets[key]?.node = node
        sockets[key]?.dirty = true
    }

    private mutating func leave(_ key: SocketKey, channel: String) {
        guard var socket = sockets[key], socket.exists, let position = socket.subscriptions.firstIndex(where: { $0.channel == channel }) else {
            return
        }
        let record = socket.subscriptions.remove(at: position)
        if record.created == nil { deletedSubscriptions.append((key.app, key.socketID, channel)) }
        if socket.subscriptions.isEmpty { socket.exists = false }
        sockets[key] = socket
        release(ChannelKey(app: key.app, channel: channel), userID: record.userID)
    }

    private mutating func disconnect(_ key: SocketKey) {
        guard var socket = sockets[key], socket.exists else { return }
        let records = socket.subscriptions
        socket.subscriptions = []
        socket.exists = false
        sockets[key] = socket
        for record in records {
            if record.created == nil { deletedSubscriptions.append((key.app, key.socketID, record.channel)) }
            release(ChannelKey(app: key.app, channel: record.channel), userID: record.userID)
        }
    }

    /// Uncounts one socket of a channel: a member's last socket starts grace, or removes the member when grace is
    /// off; a channel left with no sockets and no members is vacated.
    private mutating func release(_ key: ChannelKey, userID: String?) {
        guard var channel = channels[key], channel.exists else { return }
        channel.socketCount -= 1
        channel.dirty = true
        if !channel.isPresence { countChanges.insert(AppChannel(app: key.app, channel: key.channel)) }
        if let userID, var member = members[MemberKey(app: key.app, channel: key.channel, userID: userID)], member.exists {
            member.socketCount -= 1
            member.dirty = true
            if member.socketCount == 0 {
                if let graceDeadline {
                    graceCount += 1
                    member.graceDeadline = graceDeadline
                    member.graceTicket = nil
                    member.graceOrdinal = graceCount
                } else {
                    member.exists = false
                    channel.memberCount -= 1
                    rosters[key]?.remove(userID)
                    events.append(PresenceEvent(kind: .memberRemoved, app: key.app, channel: key.channel, userID: userID))
                }
            }
            members[MemberKey(app: key.app, channel: key.channel, userID: userID)] = member
        }
        if channel.socketCount == 0, channel.memberCount == 0 {
            channel.exists = false
            events.append(PresenceEvent(kind: .channelVacated, app: key.app, channel: key.channel))
        }
        channels[key] = channel
    }

    /// Writes the group's net change and logs `events` (the group's, with any the transaction owed before them) in two
    /// statements: deletes, then inserts, updates and the log (a key deleted and made again in the group is deleted
    /// first, so its new row takes the end of its socket's join order).
    ///
    /// - Returns: The log's new latest sequence, nil when there were no events.
    func save(logging events: [PendingEvent], connection: PostgresConnection, logger: Logger) async throws -> UInt64? {
        var changes = Upserts(graceCount: graceCount)
        var goneSockets: [SocketKey] = []
        for (key, socket) in sockets {
            if !socket.exists {
                if socket.existed { goneSockets.append(key) }
                continue
            }
            if socket.dirty { changes.sockets.append((key, socket.node)) }
            for record in socket.subscriptions {
                if let order = record.created { changes.created.append((order, key.app, key.socketID, record.channel, record.userID)) }
            }
        }
        changes.created.sort { $0.order < $1.order }
        var goneChannels: [ChannelKey] = []
        for (key, channel) in channels where channel.dirty || channel.existed != channel.exists {
            if channel.exists { changes.channels.append((key, channel)) } else if channel.existed { goneChannels.append(key) }
        }
        var goneMembers: [MemberKey] = []
        for (key, member) in members where member.dirty {
            if member.exists { changes.members.append((key, member)) } else if member.existed { goneMembers.append(key) }
        }
        let deleted = deletedSubscriptions
        if !(deleted.isEmpty && goneSockets.isEmpty && goneChannels.isEmpty && goneMembers.isEmpty) {
            // Rows found one by one through their primary keys, then deleted by row id (as `load` reads them: a
            // `DELETE … USING unnest(…)` was planned as a hash join over the whole table while it had no statistics).
            let statement = DeleteStatement(subscriptions: deleted, sockets: goneSockets, members: goneMembers, channels: goneChannels)
            _ = try await connection.rows(statement, logger: logger) { _ in () }
        }
        return try await Self.write(changes, logging: events, connection: connection, logger: logger)
    }

    /// `save`'s first statement: deletes the rows of `subscriptions`, `sockets`, `members` and `channels`.
    struct DeleteStatement: PreparedQuery {
        static let sql = DeleteStatement(subscriptions: [], sockets: [], members: [], channels: []).query.sql
        let query: PostgresQuery

        init(
            subscriptions: [(app: String, socketID: String, channel: String)], sockets: [SocketKey], members: [MemberKey],
            channels: [ChannelKey]
        ) {
            query = """
                WITH subscriptions AS (
                    DELETE FROM usher_subscriptions WHERE ctid = ANY (ARRAY(
                        SELECT s.ctid
                        FROM unnest(\(subscriptions.map(\.app))::text[], \(subscriptions.map(\.socketID))::text[], \(subscriptions.map(\.channel))::text[])
                            AS r(app, socket_id, channel)
                        CROSS JOIN LATERAL (
                            SELECT ctid FROM usher_subscriptions s
                            WHERE s.app = r.app AND s.socket_id = r.socket_id AND s.channel = r.channel LIMIT 1) s))
                    RETURNING 1),
                sockets AS (
                    DELETE FROM usher_sockets WHERE ctid = ANY (ARRAY(
                        SELECT k.ctid
                        FROM unnest(\(sockets.map(\.app))::text[], \(sockets.map(\.socketID))::text[]) AS r(app, socket_id)
                        CROSS JOIN LATERAL (
                            SELECT ctid FROM usher_sockets k WHERE k.app = r.app AND k.socket_id = r.socket_id LIMIT 1) k))
                    RETURNING 1),
                members AS (
                    DELETE FROM usher_members WHERE ctid = ANY (ARRAY(
                        SELECT m.ctid
                        FROM unnest(\(members.map(\.app))::text[], \(members.map(\.channel))::text[], \(members.map(\.userID))::text[])
                            AS r(app, channel, user_id)
                        CROSS JOIN LATERAL (
                            SELECT ctid FROM usher_members m
                            WHERE m.app = r.app AND m.channel = r.channel AND m.user_id = r.user_id LIMIT 1) m))
                    RETURNING 1)
                DELETE FROM usher_channels WHERE ctid = ANY (ARRAY(
                    SELECT c.ctid
                    FROM unnest(\(channels.map(\.app))::text[], \(channels.map(\.channel))::text[]) AS r(app, channel)
                    CROSS JOIN LATERAL (
                        SELECT ctid FROM usher_channels c WHERE c.app = r.app AND c.channel = r.channel LIMIT 1) c))
                """
        }
    }

    /// Rows a group inserts or updates.
    struct Upserts {
        var created: [(order: Int, app: String, socketID: String, channel: String, userID: String?)] = []
        var sockets: [(SocketKey, String)] = []
        var channels: [(ChannelKey, ChannelRow)] = []
        var members: [(MemberKey, MemberRow)] = []
        /// Members whose grace starts in the group: each takes the next grace ticket, in order.
        var graceCount = 0

        var isEmpty: Bool { created.isEmpty && sockets.isEmpty && channels.isEmpty && members.isEmpty }
    }

    /// Inserts and updates `changes`, then numbers and inserts `events`, counts them by kind and notifies every
    /// instance, in one statement (it runs under the write lock, so its round trips are everyone's).
    ///
    /// Everything goes as arrays, so a group's thousands of rows and events stay within one statement's bind limit.
    ///
    /// - Returns: The log's new latest sequence, nil when `events` is empty.
    static func write(_ changes: Upserts, logging events: [PendingEvent], connection: PostgresConnection, logger: Logger) async throws -> UInt64? {
        guard !(changes.isEmpty && events.isEmpty) else { return nil }
        let latest = try await connection.rows(WriteStatement(changes, logging: events), logger: logger) {
            try $0.decode(Int64?.self)
        }.first
        guard let latest else { throw PostgresStoreError.corruptRow }
        return latest.map(UInt64.init)
    }

    /// `write`'s statement.
    struct WriteStatement: PreparedQuery {
        static let sql = WriteStatement(Upserts(), logging: []).query.sql
        let query: PostgresQuery

        init(_ changes: Upserts, logging events: [PendingEvent]) {
            let (created, sockets, channels, members, graceCount) = (changes.created, changes.sockets, changes.channels, changes.members, changes.graceCount)
            // Arrays carry no NULLs here: '' (never a user id, channel name or user_info text) and -1 (never a deadline
            // or ticket) stand in.
            query = """
                WITH tickets AS (
                    SELECT CASE WHEN \(graceCount) > 0
                        THEN setval('usher_grace_tickets', nextval('usher_grace_tickets') + \(graceCount) - 1) - \(graceCount)
                        ELSE 0 END AS base),
                subscriptions AS (
                    INSERT INTO usher_subscriptions (app, socket_id, channel, user_id)
                    SELECT app, socket_id, channel, nullif(user_id, '')
                    FROM unnest(\(created.map(\.app))::text[], \(created.map(\.socketID))::text[], \(created.map(\.channel))::text[],
                        \(created.map { $0.userID ?? "" })::text[]) WITH ORDINALITY AS r(app, socket_id, channel, user_id, ord)
                    ORDER BY ord RETURNING 1),
                sockets AS (
                    INSERT INTO usher_sockets (app, socket_id, node)
                    SELECT * FROM unnest(\(sockets.map(\.0.app))::text[], \(sockets.map(\.0.socketID))::text[],
                        \(sockets.map(\.1))::text[])
                    ON CONFLICT (app, socket_id) DO UPDATE SET node = excluded.node RETURNING 1),
                channels AS (
                    INSERT INTO usher_channels (app, channel, is_presence, socket_count)
                    SELECT * FROM unnest(\(channels.map(\.0.app))::text[], \(channels.map(\.0.channel))::text[],
                        \(channels.map(\.1.isPresence))::boolean[], \(channels.map { Int32($0.1.socketCount) })::int[])
                    ON CONFLICT (app, channel) DO UPDATE SET socket_count = excluded.socket_count RETURNING 1),
                members AS (
                    INSERT INTO usher_members (app, channel, user_id, user_info, socket_count, grace_deadline, grace_ticket)
                    SELECT r.app, r.channel, r.user_id, nullif(r.user_info, ''), r.socket_count, nullif(r.deadline, -1),
                        CASE WHEN r.ordinal > 0 THEN tickets.base + r.ordinal ELSE nullif(r.ticket, -1) END
                    FROM tickets, unnest(\(members.map(\.0.app))::text[], \(members.map(\.0.channel))::text[],
                        \(members.map(\.0.userID))::text[], \(members.map { $0.1.userInfo ?? "" })::text[],
                        \(members.map { Int32($0.1.socketCount) })::int[], \(members.map { $0.1.graceDeadline ?? -1 })::bigint[],
                        \(members.map { $0.1.graceTicket ?? -1 })::bigint[], \(members.map { Int64($0.1.graceOrdinal ?? 0) })::bigint[])
                        AS r(app, channel, user_id, user_info, socket_count, deadline, ticket, ordinal)
                    ON CONFLICT (app, channel, user_id) DO UPDATE SET user_info = excluded.user_info,
                        socket_count = excluded.socket_count, grace_deadline = excluded.grace_deadline, grace_ticket = excluded.grace_ticket
                    RETURNING 1),
                bumped AS (
                    UPDATE usher_meta SET latest_sequence = latest_sequence + \(Int64(events.count)) WHERE \(Int64(events.count)) > 0
                    RETURNING latest_sequence, pg_notify(\(PostgresPresenceStore.notifyChannel), latest_sequence::text)::text AS notified),
                logged AS (
                    INSERT INTO usher_events (sequence, kind, app, channel, user_id, user_info)
                    SELECT bumped.latest_sequence - \(Int64(events.count)) + v.ordinal, v.kind, v.app, nullif(v.channel, ''),
                        nullif(v.user_id, ''), nullif(v.user_info, '')
                    FROM bumped, unnest(\(events.map(\.kind.rawValue))::text[], \(events.map(\.app))::text[],
                        \(events.map { $0.channel ?? "" })::text[], \(events.map { $0.userID ?? "" })::text[],
                        \(events.map { $0.userInfo ?? "" })::text[]) WITH ORDINALITY AS v (kind, app, channel, user_id, user_info, ordinal)
                    RETURNING kind),
                counted AS (
                    INSERT INTO usher_event_counts (kind, count) SELECT kind, count(*) FROM logged GROUP BY kind
                    ON CONFLICT (kind) DO UPDATE SET count = usher_event_counts.count + excluded.count)
                SELECT (SELECT latest_sequence FROM bumped)
                """
        }
    }
}
