import Testing
import UsherCore
import UsherCrypto

private typealias F = PresenceFixture

@Suite struct PresenceGraceTests {
    let first = JSONValue.object(["tab": .integer(1)])
    let second = JSONValue.object(["tab": .integer(2)])

    @Test("a user's last socket leaving keeps the member listed until the grace deadline")
    func graceKeepsMember() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 3000))
        _ = try registry.join(F.subscription("1.1", "presence-room", info: first), now: 1000)
        #expect(try registry.leave("1.1", "presence-room", now: 2000) == [])
        #expect(registry.memberMap("presence-room") == ["u1": first])
        #expect(registry.userCount(app: F.app, channel: "presence-room") == 1)
        #expect(registry.subscriptionCount(app: F.app, channel: "presence-room") == 0)
        #expect(
            registry.channels(app: F.app) == [ChannelSummary(name: "presence-room", subscriptionCount: 0, userCount: 1)]
        )
        #expect(registry.nextDeadline == 5000)
        #expect(registry.advance(now: 4999) == [])
        #expect(registry.advance(now: 5000) == [F.removed("presence-room", "u1"), F.vacated("presence-room")])
        #expect(registry.members(app: F.app, channel: "presence-room").isEmpty)
        #expect(registry.nextDeadline == 16000)  // only node n1's lease is left
    }

    @Test("a rejoin within grace causes no events and keeps the original user_info")
    func rejoinWithinGrace() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 3000))
        _ = try registry.join(F.subscription("1.1", "presence-room", info: first), now: 0)
        #expect(registry.disconnect(app: F.app, socketID: try F.socket("1.1"), now: 100) == [])
        #expect(
            try registry.join(F.subscription("2.2", "presence-room", info: second), now: 2000)
                == .joined(memberAdded: false, events: []))
        #expect(registry.memberMap("presence-room") == ["u1": first])
        #expect(registry.nextDeadline == 17000)  // the grace entry is gone; the lease remains
        #expect(registry.advance(now: 3100) == [])
        #expect(registry.advance(now: 10000) == [])
        #expect(registry.memberMap("presence-room") == ["u1": first])
    }

    @Test("grace expiries fire in deadline order and a stale grace does not remove a returning member")
    func graceOrdering() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 1000, leaseMillis: 100_000))
        _ = try registry.join(F.subscription("1.1", "presence-room", user: "a"), now: 0)
        _ = try registry.join(F.subscription("1.2", "presence-room", user: "b"), now: 0)
        _ = try registry.join(F.subscription("1.3", "presence-room", user: "c"), now: 0)
        _ = try registry.leave("1.1", "presence-room", now: 10)  // a: due 1010
        _ = try registry.leave("1.2", "presence-room", now: 20)  // b: due 1020
        _ = try registry.join(F.subscription("1.4", "presence-room", user: "a"), now: 30)  // cancels a
        _ = try registry.leave("1.4", "presence-room", now: 500)  // a again: due 1500
        _ = try registry.leave("1.3", "presence-room", now: 500)  // c: due 1500, after a
        #expect(registry.nextDeadline == 1020)
        #expect(registry.advance(now: 1200) == [F.removed("presence-room", "b")])
        #expect(
            registry.advance(now: 2000)
                == [F.removed("presence-room", "a"), F.removed("presence-room", "c"), F.vacated("presence-room")])
    }

    @Test("a grace expiry keeps the channel occupied while other sockets remain")
    func graceWithOthers() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 1000))
        _ = try registry.join(F.subscription("1.1", "presence-room", user: "a"), now: 0)
        _ = try registry.join(F.subscription("1.2", "presence-room", user: "b"), now: 0)
        _ = try registry.leave("1.1", "presence-room", now: 0)
        #expect(registry.advance(now: 1000) == [F.removed("presence-room", "a")])
        #expect(registry.userCount(app: F.app, channel: "presence-room") == 1)
    }

    @Test("grace of zero removes members at once")
    func noGrace() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 0))
        _ = try registry.join(F.subscription("1.1", "presence-room"), now: 0)
        #expect(
            try registry.leave("1.1", "presence-room", now: 1) == [
                F.removed("presence-room", "u1"), F.vacated("presence-room"),
            ])
        #expect(registry.nextDeadline == 15000)
    }

    @Test("non-presence channels are vacated at once even with grace")
    func nonPresenceSkipsGrace() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 3000))
        _ = try registry.join(F.subscription("1.1", "private-room"), now: 0)
        #expect(try registry.leave("1.1", "private-room", now: 1) == [F.vacated("private-room")])
    }

    @Test("a socket of a member in grace on another channel does not cancel that grace")
    func graceIsPerChannel() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 1000))
        _ = try registry.join(F.subscription("1.1", "presence-a"), now: 0)
        _ = try registry.leave("1.1", "presence-a", now: 0)
        _ = try registry.join(F.subscription("1.1", "presence-b"), now: 10)
        #expect(registry.advance(now: 1000) == [F.removed("presence-a", "u1"), F.vacated("presence-a")])
    }
}
