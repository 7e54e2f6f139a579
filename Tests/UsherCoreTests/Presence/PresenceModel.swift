import UsherCore
import UsherCrypto

/// A deliberately naive reference for `PresenceRegistry`: a flat list of subscription rows, a member → user_info map,
/// a grace list and lease deadlines. Everything is recomputed by scanning, so it is slow and obviously right.
struct PresenceModel {
    struct Row {
        let app: String, socket: String, channel: String
        var node: String
        let user: String?
        let info: JSONValue?
    }

    struct MemberKey: Hashable {
        let app: String, channel: String, user: String
    }

    struct Grace {
        let deadline: Int64
        let member: MemberKey
    }

    enum Outcome: Equatable {
        case joined([PresenceEvent])
        case already, refused

        var events: [PresenceEvent] {
            if case .joined(let events) = self { return events }
            return []
        }
    }

    let graceMillis: Int64
    let leaseMillis: Int64
    var rows: [Row] = []
    /// Current members (including those in grace) and the user_info they joined with; `.some(nil)` is "no info".
    var info: [MemberKey: JSONValue?] = [:]
    /// Pending graces, in the order they began.
    var graces: [Grace] = []
    var leases: [String: Int64] = [:]

    static func isPresence(_ channel: String) -> Bool { channel.hasPrefix("presence-") }

    func occupied(_ app: String, _ channel: String) -> Bool {
        rows.contains { $0.app == app && $0.channel == channel }
            || info.keys.contains { $0.app == app && $0.channel == channel }
    }

    func members(_ app: String, _ channel: String) -> [String: JSONValue?] {
        var result: [String: JSONValue?] = [:]
        for (key, value) in info where key.app == app && key.channel == channel { result[key.user] = value }
        return result
    }

    func sockets(_ app: String, _ channel: String) -> Int {
        rows.filter { $0.app == app && $0.channel == channel }.count
    }

    func channelSummaries(_ app: String) -> Set<ChannelSummary> {
        let names = Set(
            rows.filter { $0.app == app }.map(\.channel) + info.keys.filter { $0.app == app }.map(\.channel))
        return Set(
            names.map { name in
                ChannelSummary(
                    name: name, subscriptionCount: sockets(app, name),
                    userCount: Self.isPresence(name) ? members(app, name).count : nil)
            })
    }

    var nextDeadline: Int64? {
        (graces.map(\.deadline) + Array(leases.values)).min()
    }

    var statistics: PresenceStatistics {
        let occupiedChannels = Set(rows.map { [$0.app, $0.channel] } + info.keys.map { [$0.app, $0.channel] })
        return PresenceStatistics(
            members: info.count, channels: occupiedChannels.count,
            sockets: Set(rows.map { [$0.app, $0.socket] }).count,
            subscriptions: rows.count, nodes: leases.count)
    }

    mutating func join(_ row: Row, maxMembers: Int?, now: Int64) -> Outcome {
        leases[row.node] = now + leaseMillis
        if rows.contains(where: { $0.app == row.app && $0.socket == row.socket && $0.channel == row.channel }) {
            move(row.app, row.socket, to: row.node)
            return .already
        }
        var events: [PresenceEvent] = []
        let key = row.user.map { MemberKey(app: row.app, channel: row.channel, user: $0) }
        if let key, info[key] == nil, let maxMembers, members(row.app, row.channel).count >= maxMembers {
            return .refused
        }
        if !occupied(row.app, row.channel) {
            events.append(PresenceEvent(kind: .channelOccupied, app: row.app, channel: row.channel))
        }
        if let key {
            if info[key] == nil {
                info[key] = .some(row.info)
                events.append(
                    PresenceEvent(
                        kind: .memberAdded, app: row.app, channel: row.channel, userID: key.user, userInfo: row.info))
            } else {
                graces.removeAll { $0.member == key }
            }
        }
        rows.append(row)
        move(row.app, row.socket, to: row.node)
        return .joined(events)
    }

    mutating func leave(_ app: String, _ socket: String, _ channel: String, now: Int64) -> [PresenceEvent] {
        guard let index = rows.firstIndex(where: { $0.app == app && $0.socket == socket && $0.channel == channel })
        else { return [] }
        return removeRow(at: index, grace: true, now: now)
    }

    mutating func disconnect(_ app: String, _ socket: String, now: Int64) -> [PresenceEvent] {
        var events: [PresenceEvent] = []
        while let index = rows.firstIndex(where: { $0.app == app && $0.socket == socket }) {
            events += removeRow(at: index, grace: true, now: now)
        }
        return events
    }

    mutating func replaceNode(_ node: String, with snapshot: [Row], now: Int64) -> [PresenceEvent] {
        leases[node] = now + leaseMillis
        var events: [PresenceEvent] = []
        for row in snapshot {
            if case .joined(let joined) = join(row, maxMembers: nil, now: now) { events += joined }
        }
        let stale = rows.filter { row in
            row.node == node
                && !snapshot.contains { $0.app == row.app && $0.socket == row.socket && $0.channel == row.channel }
        }
        for socket in Self.sortedSockets(stale) {
            for row in stale where row.app == socket[0] && row.socket == socket[1] {
                events += leave(row.app, row.socket, row.channel, now: now)
            }
        }
        return events
    }

    /// Fires due graces and leases one at a time, earliest first; graces before leases at equal deadlines.
    mutating func advance(now: Int64) -> [PresenceEvent] {
        var events: [PresenceEvent] = []
        while true {
            let grace = graces.indices.min { graces[$0].deadline < graces[$1].deadline }
            let lease = leases.min { $0.value != $1.value ? $0.value < $1.value : $0.key < $1.key }
            if let grace, graces[grace].deadline <= now, graces[grace].deadline <= lease?.value ?? .max {
                let member = graces.remove(at: grace).member
                info[member] = nil
                events.append(
                    PresenceEvent(kind: .memberRemoved, app: member.app, channel: member.channel, userID: member.user))
                if !occupied(member.app, member.channel) {
                    events.append(PresenceEvent(kind: .channelVacated, app: member.app, channel: member.channel))
                }
            } else if let lease, lease.value <= now {
                leases[lease.key] = nil
                for socket in Self.sortedSockets(rows.filter { $0.node == lease.key }) {
                    while let index = rows.firstIndex(where: { $0.app == socket[0] && $0.socket == socket[1] }) {
                        events += removeRow(at: index, grace: false, now: now)
                    }
                }
            } else {
                return events
            }
        }
    }

    /// The distinct `[app, socket]` pairs of `rows`, ordered by app, then socket id text.
    static func sortedSockets(_ rows: [Row]) -> [[String]] {
        let pairs: Set<[String]> = Set(rows.map { [$0.app, $0.socket] })
        return pairs.sorted { (lhs: [String], rhs: [String]) -> Bool in
            lhs[0] != rhs[0] ? lhs[0] < rhs[0] : lhs[1] < rhs[1]
        }
    }

    private mutating func move(_ app: String, _ socket: String, to node: String) {
        for index in rows.indices where rows[index].app == app && rows[index].socket == socket {
            rows[index].node = node
        }
    }

    private mutating func removeRow(at index: Int, grace: Bool, now: Int64) -> [PresenceEvent] {
        let row = rows.remove(at: index)
        var events: [PresenceEvent] = []
        if let user = row.user,
            !rows.contains(where: { $0.app == row.app && $0.channel == row.channel && $0.user == user })
        {
            let key = MemberKey(app: row.app, channel: row.channel, user: user)
            if grace && graceMillis > 0 {
                graces.append(Grace(deadline: now + graceMillis, member: key))
            } else {
                info[key] = nil
                events.append(PresenceEvent(kind: .memberRemoved, app: row.app, channel: row.channel, userID: user))
            }
        }
        if !occupied(row.app, row.channel) {
            events.append(PresenceEvent(kind: .channelVacated, app: row.app, channel: row.channel))
        }
        return events
    }
}
