import Testing
import UsherCore
@testable import UsherStorePostgres

/// The per-instance roster cache on its own (no database): member events move the rosters it holds and only those,
/// a group's final rosters replace what it held, and it stays within its size.
@Suite struct RosterCacheTests {
    typealias Key = PresenceGroup.ChannelKey

    static func roster(_ members: [String: String?]) -> PresenceGroup.Roster {
        var roster = PresenceGroup.Roster()
        for (user, info) in members { roster.add(user, info: info) }
        return roster
    }

    @Test("member events move the rosters held, and are ignored for channels not held")
    func catchUp() {
        var cache = RosterCache()
        let room = Key(app: "1", channel: "presence-room")
        cache.store([room: Self.roster(["ann": nil, "bob": #"{"n":1}"#])], through: 7, epoch: "e")
        cache.apply([
            (.memberAdded, room, "cy", #"{"n":2}"#),
            (.memberRemoved, room, "ann", nil),
            (.memberAdded, Key(app: "1", channel: "presence-other"), "dee", nil),
            (.channelVacated, room, nil, nil),
        ])
        #expect(cache.rosters[room]?.members == ["bob": #"{"n":1}"#, "cy": #"{"n":2}"#])
        #expect(cache.rosters.count == 1)
        #expect(cache.members == 2)
        var copy = cache.rosters[room]
        #expect(copy?.snapshot()?.count == 2)
        #expect(cache.through?.sequence == 7)
    }

    @Test("a group's final rosters replace the held ones; empty ones are dropped; the total stays bounded")
    func store() {
        var cache = RosterCache(maxMembers: 10)
        let room = Key(app: "1", channel: "presence-room")
        cache.store([room: Self.roster(["ann": nil])], through: 1, epoch: "e")
        cache.store([room: Self.roster([:])], through: 2, epoch: "e")
        #expect(cache.rosters.isEmpty)
        #expect(cache.members == 0)
        let big = Self.roster(Dictionary(uniqueKeysWithValues: (0..<6).map { ("u\($0)", String?.none) }))
        cache.store([Key(app: "1", channel: "presence-a"): big, Key(app: "1", channel: "presence-b"): big], through: 3, epoch: "e")
        #expect(cache.members == 6)
        #expect(cache.rosters.count == 1)
        cache.clear()
        #expect(cache.rosters.isEmpty && cache.members == 0)
    }
}
