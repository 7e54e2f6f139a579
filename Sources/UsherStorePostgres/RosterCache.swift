import UsherCore

/// The member lists of presence channels as one instance last saw them, as of a point of the event log, so that a
/// group whose joins answer their channel's member list need not read each whole roster under the write lock.
///
/// Rosters change only through `member_added` and `member_removed` events, which every instance's groups, snapshots
/// and sweeps log in the same transaction as the change. So a cache valid at sequence `through` is brought to the
/// database's present by applying the member events after `through`, read by the group's load statement under the
/// lock; if they are more than `maxCatchUp`, or no longer all retained, or the database went back, the cache is
/// dropped and the rosters are read again. Only the group in flight uses it (a store applies one group at a time),
/// and it is put back only after that group committed.
struct RosterCache: Sendable {
    /// Members held in all rosters together by default, at most; beyond it, rosters are dropped until under it again.
    static let defaultMaxMembers = 200_000
    /// Events a group reads to catch up, at most; a cache further behind is dropped.
    static let maxCatchUp = 10_000

    /// Members held in all rosters together, at most.
    let maxMembers: Int

    /// The database epoch and the log sequence the rosters are true at; nil while empty.
    var through: (epoch: String, sequence: UInt64)?
    private(set) var rosters: [PresenceGroup.ChannelKey: PresenceGroup.Roster] = [:]
    /// Members in all rosters together.
    private(set) var members = 0

    /// Applies the member events of a catch-up (or of the group that just committed) to the channels held.
    mutating func apply(_ events: [(kind: StreamEvent.Kind, key: PresenceGroup.ChannelKey, userID: String?, userInfo: String?)]) {
        for event in events {
            guard let userID = event.userID, let before = rosters[event.key]?.members.count else { continue }
            switch event.kind {
            case .memberAdded: rosters[event.key]?.add(userID, info: event.userInfo)
            case .memberRemoved: rosters[event.key]?.remove(userID)
            default: break
            }
            members += (rosters[event.key]?.members.count ?? 0) - before
        }
    }

    init(maxMembers: Int = defaultMaxMembers) {
        self.maxMembers = maxMembers
    }

    /// Drops every roster (they can no longer be caught up).
    mutating func clear() {
        rosters = [:]
        members = 0
    }

    /// Takes the rosters a group ended with (they are what it committed), then keeps the cache within `maxMembers`.
    mutating func store(_ final: [PresenceGroup.ChannelKey: PresenceGroup.Roster], through sequence: UInt64, epoch: String) {
        for (key, roster) in final {
            members += roster.members.count - (rosters[key]?.members.count ?? 0)
            rosters[key] = roster.members.isEmpty ? nil : roster
        }
        through = (epoch, sequence)
        while members > maxMembers, let (key, roster) = rosters.first {
            rosters[key] = nil
            members -= roster.members.count
        }
    }
}
