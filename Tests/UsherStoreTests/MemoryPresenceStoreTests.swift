import Testing
import UsherCore
import UsherCrypto
import UsherStore

/// `MemoryPresenceStore` joins, leaves and grace, driven by a hand-moved clock (grace 1 s, lease 5 s).
@Suite struct MemoryPresenceStoreTests {
    let clock = ManualClock()
    let store: MemoryPresenceStore
    static let ann: JSONValue = .object(["name": .string("Ann")])

    init() {
        store = MemoryPresenceStore(
            configuration: .init(graceMillis: 1000, leaseMillis: 5000), logCapacity: 64, now: clock.read)
    }

    @Test("a first presence join adds the member, answers the snapshot and logs occupied then member_added")
    func firstJoin() async throws {
        let result = try await store.join(StoreFixture.subscription("1.1", "presence-room", user: "42", info: Self.ann))
        guard case .joined(memberAdded: true, presence: let presence?) = result else {
            Issue.record("unexpected \(result)")
            return
        }
        #expect(presence.jsonText == #"{"ids":["42"],"hash":{"42":{"name":"Ann"}},"count":1}"#)
        let events = store.log.all() ?? []
        #expect(events.map(\.kind) == [.channelOccupied, .memberAdded])
        #expect(events.map(\.data) == [
            #"{"app":"app1","channel":"presence-room"}"#,
            #"{"app":"app1","channel":"presence-room","user_id":"42","user_info":{"name":"Ann"}}"#,
        ])
        #expect(store.presence(app: "app1", channel: "presence-room") == presence)
    }

    @Test("a retry is alreadySubscribed and a second tab joins without member_added; neither logs anything")
    func retryAndSecondTab() async throws {
        _ = try await store.join(StoreFixture.subscription("1.1", "presence-room", info: Self.ann))
        let retry = try await store.join(StoreFixture.subscription("1.1", "presence-room"))
        guard case .alreadySubscribed = retry else {
            Issue.record("a retry answered \(retry)")
            return
        }
        #expect(retry.members == ["u1": #"{"name":"Ann"}"#])
        let tab = try await store.join(StoreFixture.subscription("1.2", "presence-room", info: .object([:])))
        guard case .joined(memberAdded: false, _) = tab else {
            Issue.record("a second tab answered \(tab)")
            return
        }
        // The first socket's user_info is kept.
        #expect(tab.members == ["u1": #"{"name":"Ann"}"#])
        #expect(store.summary() == ["channel_occupied presence-room", "member_added u1"])
        #expect(store.counts(app: "app1", channel: "presence-room") == (2, 1))
    }

    @Test("a full channel refuses a new user but never another socket of a member")
    func membersFull() async throws {
        let limits = PresenceLimits(maxMembers: 2)
        _ = try await store.join(StoreFixture.subscription("1.1", "presence-room", user: "a"), limits: limits)
        _ = try await store.join(StoreFixture.subscription("1.2", "presence-room", user: "b"), limits: limits)
        let refused = try await store.join(StoreFixture.subscription("1.3", "presence-room", user: "c"), limits: limits)
        guard case .refused(.membersFull) = refused else {
            Issue.record("a third user answered \(refused)")
            return
        }
        #expect(JoinRefusal.membersFull.code == 4100)
        let tab = try await store.join(StoreFixture.subscription("1.4", "presence-room", user: "a"), limits: limits)
        #expect(tab.members == ["a": "{}", "b": "{}"])
        #expect(store.summary() == ["channel_occupied presence-room", "member_added a", "member_added b"])
    }

    @Test("a private channel join answers no presence; its first subscriber occupies it")
    func privateJoin() async throws {
        let result = try await store.join(StoreFixture.subscription("1.1", "private-doc"))
        guard case .joined(memberAdded: false, presence: nil) = result else {
            Issue.record("unexpected \(result)")
            return
        }
        #expect(store.summary() == ["channel_occupied private-doc"])
        #expect(store.presence(app: "app1", channel: "private-doc") == nil)
        #expect(store.channels(app: "app1", prefix: "private-").map(\.name) == ["private-doc"])
    }

    @Test("a leave starts grace; advance() after the grace logs member_removed then channel_vacated")
    func leaveWithGrace() async throws {
        _ = try await store.join(StoreFixture.subscription("1.1", "presence-room"))
        let mark = store.log.latest
        try await store.leave(app: "app1", socketID: StoreFixture.socket("1.1"), channel: StoreFixture.channel("presence-room"))
        #expect(store.summary(after: mark).isEmpty)
        #expect(store.presence(app: "app1", channel: "presence-room")?.count == 1)
        clock.advance(by: 999)
        store.advance()
        #expect(store.summary(after: mark).isEmpty)
        clock.advance(by: 1)
        store.advance()
        #expect(store.summary(after: mark) == ["member_removed u1", "channel_vacated presence-room"])
        #expect(store.presence(app: "app1", channel: "presence-room") == nil)
    }

    @Test("a rejoin within grace logs nothing, and the stale grace never fires")
    func rejoinWithinGrace() async throws {
        _ = try await store.join(StoreFixture.subscription("1.1", "presence-room"))
        let mark = store.log.latest
        try await store.disconnect(app: "app1", socketID: StoreFixture.socket("1.1"))
        clock.advance(by: 500)
        let rejoin = try await store.join(StoreFixture.subscription("2.1", "presence-room"))
        guard case .joined(memberAdded: false, _) = rejoin else {
            Issue.record("a rejoin answered \(rejoin)")
            return
        }
        clock.advance(by: 5000)
        _ = try store.heartbeat(node: StoreFixture.node("n1"))
        store.advance()
        #expect(store.summary(after: mark).isEmpty)
    }

    @Test("disconnect drops a socket from every channel; unknown sockets and channels are no-ops")
    func disconnect() async throws {
        _ = try await store.join(StoreFixture.subscription("1.1", "presence-room"))
        _ = try await store.join(StoreFixture.subscription("1.1", "public-news"))
        let mark = store.log.latest
        try await store.disconnect(app: "app1", socketID: StoreFixture.socket("9.9"))
        try await store.leave(app: "app1", socketID: StoreFixture.socket("1.1"), channel: StoreFixture.channel("private-x"))
        #expect(store.summary(after: mark).isEmpty)
        try await store.disconnect(app: "app1", socketID: StoreFixture.socket("1.1"))
        // The public channel empties at once; the presence member waits out its grace.
        #expect(store.summary(after: mark) == ["channel_vacated public-news"])
        clock.advance(by: 1000)
        store.advance()
        #expect(store.summary(after: mark) == ["channel_vacated public-news", "member_removed u1", "channel_vacated presence-room"])
    }
}
