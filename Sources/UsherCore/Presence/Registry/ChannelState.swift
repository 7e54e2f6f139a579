import UsherCrypto

/// One occupied channel: its socket count and, for presence, its members keyed by user id.
struct ChannelState {
    /// What a socket's arrival did to the channel.
    enum Admission {
        /// Nothing changed.
        case refused(JoinRefusal)
        /// The socket counts; `name` and the user id are the stored strings, shared by the socket's record.
        case admitted(name: String, occupied: Bool, member: MemberChange)
    }

    /// What a socket's arrival did to its member.
    enum MemberChange {
        case none
        case added(userID: String)
        case anotherSocket(userID: String)
        /// A member in grace got a socket back; its queued grace entry is now stale.
        case rejoined(userID: String)

        var isAddition: Bool {
            if case .added = self { return true }
            return false
        }
    }

    /// What a socket's departure did to its member.
    enum Release {
        case socketLeft
        case graceStarted(userID: String, deadline: Int64)
        case memberRemoved(userID: String)
    }

    let name: String
    let isPresence: Bool
    private(set) var socketCount = 0
    /// Members, including those in grace; listing order is the dictionary's (none is promised).
    private(set) var members: [String: MemberState] = [:]
    /// The member list as `subscription_succeeded` sends it, once asked for, kept up to date while members only
    /// arrive (an arrival appends to it), dropped when one leaves. Every presence join answers the list, so without it
    /// each join would cost a serialization of every member's user_info.
    private var listing: PresenceListing?

    init(name: String, isPresence: Bool) {
        self.name = name
        self.isPresence = isPresence
    }

    /// No sockets and no members: the channel is removed and reported vacated.
    var isVacant: Bool { socketCount == 0 && members.isEmpty }

    /// Adds a socket and, for presence, its member; only a new member can be refused, and `limits` nil refuses none.
    mutating func admit(_ member: PresenceMember?, limits: PresenceLimits?) -> Admission {
        let occupied = isVacant
        guard isPresence, let member else {
            socketCount += 1
            return .admitted(name: name, occupied: occupied, member: .none)
        }
        if let index = members.index(forKey: member.userID) {
            socketCount += 1
            let userID = members.keys[index]
            let wasInGrace = members.values[index].isInGrace
            members.values[index].addSocket()
            return .admitted(
                name: name, occupied: false,
                member: wasInGrace ? .rejoined(userID: userID) : .anotherSocket(userID: userID))
        }
        if let limits, members.count >= limits.maxMembers { return .refused(.membersFull) }
        socketCount += 1
        members[member.userID] = MemberState(userInfoJSON: member.userInfoJSON)
        listing?.append(userID: member.userID, userInfoJSON: member.userInfoJSON)
        return .admitted(name: name, occupied: occupied, member: .added(userID: member.userID))
    }

    /// Removes a socket of `userID` (nil for non-presence); a member's last socket starts `grace`, or removes the
    /// member when `grace` is nil.
    mutating func release(userID: String?, grace: (deadline: Int64, ticket: UInt64)?) -> Release {
        socketCount -= 1
        guard let userID, let index = members.index(forKey: userID) else { return .socketLeft }
        guard members.values[index].removeSocket() else { return .socketLeft }
        if let grace {
            members.values[index].startGrace(ticket: grace.ticket)
            return .graceStarted(userID: members.keys[index], deadline: grace.deadline)
        }
        members.remove(at: index)
        listing = nil
        return .memberRemoved(userID: userID)
    }

    /// Removes `userID` if it is still in the grace that `ticket` started; false for a stale ticket.
    mutating func expire(userID: String, ticket: UInt64) -> Bool {
        guard let index = members.index(forKey: userID), members.values[index].isInGrace(ticket: ticket) else {
            return false
        }
        members.remove(at: index)
        listing = nil
        return true
    }

    /// The member list (built once, then kept up to date; see `listing`); nil when there are no members.
    mutating func presence() -> PresenceSnapshot? {
        guard !members.isEmpty else { return nil }
        if listing == nil {
            var built = PresenceListing()
            for (userID, member) in members { built.append(userID: userID, userInfoJSON: member.userInfoJSON) }
            listing = built
        }
        return listing?.snapshot
    }

    /// Whether `userID` is in the grace that `ticket` started.
    func isInGrace(userID: String, ticket: UInt64) -> Bool {
        members[userID]?.isInGrace(ticket: ticket) ?? false
    }
}
