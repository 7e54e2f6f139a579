import Testing
import UsherCore
import UsherCrypto

private typealias F = PresenceFixture

@Suite struct PresenceNodeTests {
    @Test("a lapsed lease drops the node's sockets at once; a user also on another node stays")
    func leaseExpiry() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 3000, leaseMillis: 10000))
        _ = try registry.join(F.subscription("1.1", "presence-room", user: "a"), node: "n1", now: 0)
        _ = try registry.join(F.subscription("1.2", "presence-room", user: "b"), node: "n1", now: 0)
        _ = try registry.join(F.subscription("2.1", "presence-room", user: "b"), node: "n2", now: 0)
        _ = try registry.join(F.subscription("1.2", "private-x"), node: "n1", now: 0)
        registry.heartbeat(node: try F.node("n2"), now: 5000)
        #expect(registry.nextDeadline == 10000)
        #expect(registry.advance(now: 9999) == [])
        #expect(
            registry.advance(now: 10000)
                == [F.removed("presence-room", "a"), F.vacated("private-x")])
        #expect(registry.memberMap("presence-room") == ["b": nil])
        #expect(registry.subscriptionCount(app: F.app, channel: "presence-room") == 1)
        #expect(
            registry.statistics == PresenceStatistics(members: 1, channels: 1, sockets: 1, subscriptions: 1, nodes: 1))
        #expect(registry.nextDeadline == 15000)
        #expect(registry.advance(now: 15000) == [F.removed("presence-room", "b"), F.vacated("presence-room")])
        #expect(registry.nextDeadline == nil)
    }

    @Test("a lapsed lease bypasses grace but leaves members already in grace to their own deadline")
    func leaseAndGrace() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 5000, leaseMillis: 1000))
        _ = try registry.join(F.subscription("1.1", "presence-room", user: "a"), node: "n1", now: 0)
        _ = try registry.join(F.subscription("1.2", "presence-room", user: "b"), node: "n1", now: 0)
        _ = try registry.leave("1.1", "presence-room", now: 500)  // a in grace until 5500
        #expect(registry.advance(now: 1000) == [F.removed("presence-room", "b")])
        #expect(registry.memberMap("presence-room") == ["a": nil])
        #expect(registry.advance(now: 5500) == [F.removed("presence-room", "a"), F.vacated("presence-room")])
    }

    @Test("heartbeats and joins renew leases; a lapsed node is forgotten until it speaks again")
    func leaseRenewal() throws {
        var registry = PresenceRegistry(configuration: .init(leaseMillis: 1000))
        registry.heartbeat(node: try F.node("n1"), now: 0)
        #expect(registry.nextDeadline == 1000)
        _ = try registry.join(F.subscription("1.1", "news"), node: "n1", now: 600)
        #expect(registry.nextDeadline == 1600)
        registry.heartbeat(node: try F.node("n1"), now: 1200)
        #expect(registry.advance(now: 1600) == [])
        #expect(registry.advance(now: 2200) == [F.vacated("news")])
        #expect(registry.statistics.nodes == 0)
        registry.heartbeat(node: try F.node("n1"), now: 3000)
        #expect(registry.statistics.nodes == 1)
    }

    @Test("a node that lapsed and joins again before heartbeating is still told to resync, once")
    func joinAfterLapseStillResyncs() throws {
        var registry = PresenceRegistry(configuration: .init(leaseMillis: 1000))
        #expect(!registry.heartbeat(node: try F.node("n1"), now: 0))  // new node: resync
        #expect(registry.heartbeat(node: try F.node("n1"), now: 500))
        _ = registry.advance(now: 1600)  // lapsed: its sockets are gone
        _ = try registry.join(F.subscription("1.2", "news"), node: "n1", now: 1700)  // a retried join comes first
        #expect(!registry.heartbeat(node: try F.node("n1"), now: 1800), "the other sockets are still unknown")
        #expect(registry.heartbeat(node: try F.node("n1"), now: 1900))
        // A snapshot settles the debt as well.
        _ = registry.advance(now: 3000)
        _ = try registry.join(F.subscription("1.3", "news"), node: "n1", now: 3100)
        _ = registry.replaceNode(try F.node("n1"), with: [], now: 3200)
        #expect(registry.heartbeat(node: try F.node("n1"), now: 3300))
    }

    @Test("a socket belongs to the last node that reported it")
    func socketMoves() throws {
        var registry = PresenceRegistry(configuration: .init(leaseMillis: 1000))
        _ = try registry.join(F.subscription("1.1", "news"), node: "n1", now: 0)
        #expect(try registry.join(F.subscription("1.1", "news"), node: "n2", now: 500) == .alreadySubscribed)
        #expect(registry.advance(now: 1000) == [])
        #expect(registry.subscriptionCount(app: F.app, channel: "news") == 1)
        #expect(registry.advance(now: 1500) == [F.vacated("news")])
    }

    @Test("resyncing an unchanged node emits nothing")
    func resyncUnchanged() throws {
        var registry = PresenceRegistry()
        let node = try F.node("n1")
        let snapshot = [try F.subscription("1.1", "presence-room", user: "a"), try F.subscription("1.1", "news")]
        _ = registry.replaceNode(node, with: snapshot, now: 0)
        let before = registry.statistics
        #expect(registry.replaceNode(node, with: snapshot.reversed(), now: 10) == [])
        #expect(registry.statistics == before)
        #expect(registry.nextDeadline == 15010)
    }

    @Test("a resync joins new sockets first, then leaves missing ones through grace")
    func resyncDiff() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 1000))
        let node = try F.node("n1")
        _ = try registry.join(F.subscription("1.1", "presence-room", user: "a"), now: 0)
        _ = try registry.join(F.subscription("1.2", "presence-room", user: "b"), now: 0)
        _ = try registry.join(F.subscription("1.2", "private-x"), now: 0)
        let events = registry.replaceNode(
            node,
            with: [
                try F.subscription("1.1", "presence-room", user: "a"),
                try F.subscription("1.3", "presence-room", user: "c"),
            ],
            now: 100)
        #expect(events == [F.added("presence-room", "c"), F.vacated("private-x")])
        #expect(registry.memberMap("presence-room") == ["a": nil, "b": nil, "c": nil])
        #expect(registry.advance(now: 1100) == [F.removed("presence-room", "b")])
    }

    @Test("a resync never refuses, since the sockets exist already")
    func resyncIgnoresLimits() throws {
        var registry = PresenceRegistry()
        let one = PresenceLimits(maxMembers: 1)
        _ = try registry.join(F.subscription("1.1", "presence-room", user: "a"), node: "n2", limits: one, now: 0)
        #expect(
            try registry.join(F.subscription("1.2", "presence-room", user: "b"), limits: one, now: 0)
                == .refused(.membersFull))
        let events = registry.replaceNode(
            try F.node("n1"), with: [try F.subscription("1.2", "presence-room", user: "b")], now: 0)
        #expect(events == [F.added("presence-room", "b")])
        #expect(registry.userCount(app: F.app, channel: "presence-room") == 2)
    }

    @Test("after a restart the registry is empty and a snapshot re-adds everything")
    func resyncAfterRestart() throws {
        var registry = PresenceRegistry()
        let events = registry.replaceNode(
            try F.node("n1"),
            with: [
                try F.subscription("1.1", "presence-room", user: "a"),
                try F.subscription("1.2", "presence-room", user: "a"),
                try F.subscription("1.2", "private-x"), try F.subscription("1.1", "presence-room", user: "z"),
            ],
            now: 0)
        #expect(events == [F.occupied("presence-room"), F.added("presence-room", "a"), F.occupied("private-x")])
        #expect(
            registry.statistics == PresenceStatistics(members: 1, channels: 2, sockets: 2, subscriptions: 3, nodes: 1))
    }

    @Test("a resync takes over sockets another node reported, and what they no longer hold leaves")
    func resyncTakesOver() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 0, leaseMillis: 1000))
        _ = try registry.join(F.subscription("1.1", "news"), node: "n2", now: 0)
        _ = try registry.join(F.subscription("1.1", "private-x"), node: "n2", now: 0)
        #expect(
            registry.replaceNode(try F.node("n1"), with: [try F.subscription("1.1", "news")], now: 500)
                == [F.vacated("private-x")])
        #expect(registry.advance(now: 1000) == [])
        #expect(registry.advance(now: 1500) == [F.vacated("news")])
    }

    @Test("node ids are 1 to 128 characters of A-Z a-z 0-9 _ . : -")
    func nodeIDs() throws {
        #expect(try NodeID(validating: "relay-1.eu:9000_a").description == "relay-1.eu:9000_a")
        #expect(try NodeID(validating: String(repeating: "n", count: 128)).description.count == 128)
        for bad in ["", String(repeating: "n", count: 129), "a b", "a/b", "nœud", "a\n"] {
            #expect(throws: CoreError.invalidNodeID) { try NodeID(validating: bad) }
        }
    }
}
