import Testing
import UsherCore
import UsherCrypto

private typealias F = PresenceFixture

@Suite struct PresenceRegistryTests {
    let ann = JSONValue.object(["name": .string("Ann")])

    @Test("the first socket occupies the channel and adds its member, in that order")
    func firstJoin() throws {
        var registry = PresenceRegistry()
        let outcome = try registry.join(F.subscription("1.1", "presence-room", user: "42", info: ann), now: 0)
        #expect(
            outcome
                == .joined(
                    memberAdded: true, events: [F.occupied("presence-room"), F.added("presence-room", "42", ann)]))
        #expect(registry.memberMap("presence-room") == ["42": ann])
        #expect(registry.subscriptionCount(app: F.app, channel: "presence-room") == 1)
        #expect(registry.userCount(app: F.app, channel: "presence-room") == 1)
    }

    @Test("a user with several tabs is one member that leaves with its last socket, keeping its first user_info")
    func multiTab() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 0))
        let other = JSONValue.object(["name": .string("Other tab")])
        _ = try registry.join(F.subscription("1.1", "presence-room", user: "42", info: ann), now: 0)
        #expect(
            try registry.join(F.subscription("1.2", "presence-room", user: "42", info: other), now: 1)
                == .joined(memberAdded: false, events: []))
        #expect(
            try registry.join(F.subscription("1.3", "presence-room", user: "42"), now: 2)
                == .joined(memberAdded: false, events: []))
        #expect(registry.memberMap("presence-room") == ["42": ann])
        #expect(registry.subscriptionCount(app: F.app, channel: "presence-room") == 3)
        #expect(registry.userCount(app: F.app, channel: "presence-room") == 1)

        #expect(try registry.leave("1.1", "presence-room", now: 3) == [])
        #expect(registry.disconnect(app: F.app, socketID: try F.socket("1.3"), now: 4) == [])
        #expect(registry.memberMap("presence-room") == ["42": ann])
        #expect(
            try registry.leave("1.2", "presence-room", now: 5)
                == [F.removed("presence-room", "42"), F.vacated("presence-room")])
        #expect(registry.presence(app: F.app, channel: "presence-room") == nil)
        #expect(registry.statistics == PresenceStatistics(nodes: 1))
    }

    @Test("interleaved users join and leave independently")
    func interleaved() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 0))
        _ = try registry.join(F.subscription("1.1", "presence-a", user: "a"), now: 0)
        #expect(
            try registry.join(F.subscription("1.2", "presence-a", user: "b"), now: 0).events == [
                F.added("presence-a", "b")
            ])
        #expect(
            try registry.join(F.subscription("1.1", "presence-b", user: "a"), now: 0).events
                == [F.occupied("presence-b"), F.added("presence-b", "a")])
        #expect(try registry.leave("1.1", "presence-a", now: 1) == [F.removed("presence-a", "a")])
        #expect(
            try registry.join(F.subscription("1.3", "presence-a", user: "a"), now: 2).events == [
                F.added("presence-a", "a")
            ])
        #expect(
            registry.disconnect(app: F.app, socketID: try F.socket("1.1"), now: 3)
                == [F.removed("presence-b", "a"), F.vacated("presence-b")])
        #expect(Set(registry.memberMap("presence-a").keys) == ["a", "b"])
        #expect(
            registry.statistics == PresenceStatistics(members: 2, channels: 1, sockets: 2, subscriptions: 2, nodes: 1))
    }

    @Test("a disconnect leaves the socket's channels in the order it joined them")
    func disconnectOrder() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 0))
        for channel in ["private-z", "presence-m", "a-public"] {
            _ = try registry.join(F.subscription("1.1", channel), now: 0)
        }
        #expect(
            registry.disconnect(app: F.app, socketID: try F.socket("1.1"), now: 1) == [
                F.vacated("private-z"), F.removed("presence-m", "u1"), F.vacated("presence-m"), F.vacated("a-public"),
            ])
    }

    @Test("duplicate joins, repeated and unknown leaves change nothing")
    func duplicates() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 0))
        let subscription = try F.subscription("1.1", "presence-room", user: "42")
        _ = try registry.join(subscription, now: 0)
        #expect(try registry.join(subscription, now: 1) == .alreadySubscribed)
        #expect(try registry.join(F.subscription("1.1", "presence-room", user: "43"), now: 1) == .alreadySubscribed)
        #expect(registry.subscriptionCount(app: F.app, channel: "presence-room") == 1)
        #expect(try registry.leave("9.9", "presence-room", now: 2) == [])
        #expect(try registry.leave("1.1", "presence-other", now: 2) == [])
        #expect(try registry.leave("1.1", "presence-room", app: "app2", now: 2) == [])
        #expect(registry.disconnect(app: F.app, socketID: try F.socket("9.9"), now: 2) == [])
        #expect(try registry.leave("1.1", "presence-room", now: 3).count == 2)
        #expect(try registry.leave("1.1", "presence-room", now: 4) == [])
        #expect(registry.disconnect(app: F.app, socketID: try F.socket("1.1"), now: 5) == [])
    }

    @Test("a leave that arrives before its join is a no-op, and the late join then joins")
    func outOfOrder() throws {
        var registry = PresenceRegistry()
        #expect(try registry.leave("1.1", "presence-room", now: 0) == [])
        #expect(
            try registry.join(F.subscription("1.1", "presence-room"), now: 1).events
                == [F.occupied("presence-room"), F.added("presence-room", "u1")])
        #expect(registry.userCount(app: F.app, channel: "presence-room") == 1)
    }

    @Test("a full channel refuses new users but accepts another tab of a member")
    func memberCap() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 0))
        let limits = PresenceLimits(maxMembers: 2)
        _ = try registry.join(F.subscription("1.1", "presence-room", user: "a"), limits: limits, now: 0)
        _ = try registry.join(F.subscription("1.2", "presence-room", user: "b"), limits: limits, now: 0)
        #expect(
            try registry.join(F.subscription("1.3", "presence-room", user: "c"), limits: limits, now: 1)
                == .refused(.membersFull))
        #expect(JoinRefusal.membersFull.code == 4100)
        #expect(
            try registry.join(F.subscription("1.4", "presence-room", user: "a"), limits: limits, now: 1)
                == .joined(memberAdded: false, events: []))
        #expect(registry.subscriptionCount(app: F.app, channel: "presence-room") == 3)
        #expect(registry.statistics.sockets == 3)
        _ = try registry.leave("1.2", "presence-room", now: 2)
        #expect(
            try registry.join(F.subscription("1.3", "presence-room", user: "c"), limits: limits, now: 3)
                == .joined(memberAdded: true, events: [F.added("presence-room", "c")]))
    }

    @Test("a refused join of an empty channel leaves nothing behind")
    func refusedOnEmpty() throws {
        var registry = PresenceRegistry()
        let tiny = PresenceLimits(maxMembers: 0)
        #expect(
            try registry.join(F.subscription("1.1", "presence-room"), limits: tiny, now: 0) == .refused(.membersFull))
        #expect(JoinRefusal.userInfoTooLarge.code == 4301)
        #expect(registry.channels(app: F.app).isEmpty)
        #expect(registry.statistics == PresenceStatistics(nodes: 1))
    }

    @Test("private and public channels count sockets and have no members")
    func nonPresenceCounts() throws {
        var registry = PresenceRegistry()
        #expect(try registry.join(F.subscription("1.1", "private-a"), now: 0).events == [F.occupied("private-a")])
        #expect(
            try registry.join(F.subscription("1.2", "private-a"), now: 0) == .joined(memberAdded: false, events: []))
        #expect(try registry.join(F.subscription("1.1", "news"), now: 0).events == [F.occupied("news")])
        #expect(registry.subscriptionCount(app: F.app, channel: "private-a") == 2)
        #expect(registry.userCount(app: F.app, channel: "private-a") == 0)
        #expect(registry.presence(app: F.app, channel: "private-a") == nil)
        #expect(
            Set(registry.channels(app: F.app)) == [
                ChannelSummary(name: "private-a", subscriptionCount: 2, userCount: nil),
                ChannelSummary(name: "news", subscriptionCount: 1, userCount: nil),
            ])
        #expect(try registry.leave("1.1", "private-a", now: 1) == [])
        #expect(try registry.leave("1.2", "private-a", now: 1) == [F.vacated("private-a")])
        #expect(registry.disconnect(app: F.app, socketID: try F.socket("1.1"), now: 1) == [F.vacated("news")])
    }

    @Test("channel listings filter by prefix and keep apps apart")
    func listing() throws {
        var registry = PresenceRegistry()
        _ = try registry.join(F.subscription("1.1", "presence-a"), now: 0)
        _ = try registry.join(F.subscription("1.1", "private-b"), now: 0)
        _ = try registry.join(F.subscription("1.1", "presence-c", app: "app2"), now: 0)
        #expect(
            registry.channels(app: F.app, prefix: "presence-")
                == [ChannelSummary(name: "presence-a", subscriptionCount: 1, userCount: 1)])
        #expect(registry.channels(app: F.app, prefix: "private-").map(\.name) == ["private-b"])
        #expect(registry.channels(app: "app2").map(\.name) == ["presence-c"])
        #expect(registry.channels(app: "nope").isEmpty)
        #expect(
            registry.statistics == PresenceStatistics(members: 2, channels: 3, sockets: 2, subscriptions: 3, nodes: 1))
    }
}
