/// Registry-wide bookkeeping beside the per-app state: node leases, the grace queue and running totals.
///
/// Kept apart from `apps` so per-app operations can update it while the app state is borrowed in place.
struct Ledger {
    /// Each known node's lease deadline (changed only through ``renewLease(of:until:)`` and ``dropLease(of:)``).
    private(set) var leases: [NodeID: Int64] = [:]
    /// The last renewal: every join of a batch renews the same node to the same deadline, which then costs a
    /// comparison instead of a dictionary update. Cleared when a lease is dropped.
    private var lastRenewal: (node: NodeID, until: Int64)?
    /// Nodes that became known through a join rather than a heartbeat or snapshot (a relay whose lease lapsed and
    /// that retried a join first): their next heartbeat must still ask for a full snapshot.
    var mustResync: Set<NodeID> = []
    var grace = GraceQueue()
    private(set) var nextTicket: UInt64 = 1
    /// Set when a rejoin cancelled a grace whose entry may be at the top of the queue; the registry then prunes.
    /// Cancelled entries otherwise stay queued until they surface.
    var graceTopMayBeStale = false
    var totals = PresenceStatistics()
    /// Non-presence channels whose subscription count changed since the owner last took them
    /// (``PresenceRegistry/takeCountChanges()``).
    var countChanges: Set<AppChannel> = []

    /// Renews `node`'s lease until `until`; returns whether the node had a lease.
    mutating func renewLease(of node: NodeID, until: Int64) -> Bool {
        if let last = lastRenewal, last.until == until, last.node == node { return true }
        let known = leases.updateValue(until, forKey: node) != nil
        lastRenewal = (node, until)
        return known
    }

    /// Forgets `node`'s lease.
    mutating func dropLease(of node: NodeID) {
        leases[node] = nil
        lastRenewal = nil
    }

    /// The earliest lease deadline; ties go to the smaller node id.
    func earliestLease() -> (deadline: Int64, node: NodeID)? {
        var earliest: (deadline: Int64, node: NodeID)?
        for (node, deadline) in leases {
            if let current = earliest,
                current.deadline < deadline || (current.deadline == deadline && current.node < node)
            {
                continue
            }
            earliest = (deadline, node)
        }
        return earliest
    }

    /// Queues the grace expiry of a member whose last socket left, under ``nextTicket`` (the ticket the member took).
    mutating func startGrace(app: String, channel: String, userID: String, deadline: Int64) {
        grace.push(GraceEntry(deadline: deadline, ticket: nextTicket, app: app, channel: channel, userID: userID))
        nextTicket += 1
    }
}
