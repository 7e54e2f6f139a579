/// One member of a presence channel as stored (its user id is the key): 24 bytes, so a million members stay cheap
/// (a user_info text of up to 15 bytes is held inline, without an allocation of its own).
struct MemberState {
    /// The user_info of the user's first socket (compact JSON text), kept until the user fully leaves.
    let userInfoJSON: String?
    /// Above 0: sockets subscribed as this user. Below 0: in grace, tagged with the grace's ticket.
    ///
    /// One Int32 fits beside the 16-byte user_info text, where a socket count plus a 64-bit ticket would add 8 bytes per
    /// member. The tag keeps the ticket's low 31 bits: a stale queue entry could only match a live grace after 2^31
    /// further graces began while it waited, far beyond any grace period.
    private var raw: Int32

    /// A new member with one socket.
    init(userInfoJSON: String?) {
        self.userInfoJSON = userInfoJSON
        raw = 1
    }

    /// Whether the member has no sockets and awaits its grace expiry.
    var isInGrace: Bool { raw < 0 }

    /// Whether the member is in the grace that `ticket` started.
    func isInGrace(ticket: UInt64) -> Bool {
        raw == Self.tag(ticket)
    }

    /// Counts another socket, ending any grace.
    mutating func addSocket() {
        raw = raw > 0 ? raw + 1 : 1
    }

    /// Uncounts a socket; returns true when it was the last one (the caller then starts grace or removes the member).
    mutating func removeSocket() -> Bool {
        raw -= 1
        return raw == 0
    }

    /// Marks the member as in the grace that `ticket` starts.
    mutating func startGrace(ticket: UInt64) {
        raw = Self.tag(ticket)
    }

    private static func tag(_ ticket: UInt64) -> Int32 {
        -Int32(truncatingIfNeeded: ticket & 0x7FFF_FFFF) - 1
    }
}
