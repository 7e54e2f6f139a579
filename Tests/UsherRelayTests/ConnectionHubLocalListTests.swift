import Testing
import UsherCore
import UsherCrypto
@testable import UsherRelay

/// When a presence join is answered from the node's own member list (`"presence": false`), without I/O.
@Suite struct ConnectionHubLocalListTests {
    let hub = ConnectionHub()
    let app: App
    let key: ChannelKey

    init() throws {
        app = try TestApp.app()
        key = ChannelKey(app: app.id, channel: "presence-room")
    }

    /// Whether a join now would answer from the node's list (the join is then cancelled).
    private func wouldUseLocalList(mayUseLocalList: Bool = true) -> Bool {
        let join = hub.beginJoin(app: app.id, channel: "presence-room", mayUseLocalList: mayUseLocalList)
        hub.cancelJoin(join)
        return join.usesLocalList
    }

    /// Subscribes a new connection as `user`, with Usher's answer listing `members`.
    @discardableResult
    private func subscribeWithUshersList(_ user: String, members: [String: JSONValue]) -> RelayConnection {
        let connection = hub.connect(app: app, outboxLimit: 100)
        let join = hub.beginJoin(app: app.id, channel: "presence-room", mayUseLocalList: true)
        hub.subscribe(connection, to: "presence-room", LocalSubscription(channelData: nil, userID: user), frame: "\(user)-joined", members: members, join: join)
        return connection
    }

    /// Everything queued for `connection`, after closing it.
    private func frames(_ connection: RelayConnection) async -> [String] {
        connection.close(code: 1000, reason: "test")
        var frames: [String] = []
        for await frame in connection.outbox { frames.append(frame) }
        return frames
    }

    /// The `presence` object of a `subscription_succeeded` frame.
    private func presence(_ frame: String?) throws -> JSONValue? {
        try JSONValue.parse(try JSONValue.parse(try #require(frame))["data"]?.stringValue ?? "")["presence"]
    }

    @Test("the node's list answers a join only with a local subscriber, the event stream following, and no event lost since the list was built")
    func trust() {
        #expect(!wouldUseLocalList(), "no list, no stream")
        hub.eventStreamOpened(resumed: false)
        #expect(!wouldUseLocalList(), "a channel joined for the first time has no list")
        let ann = subscribeWithUshersList("ann", members: ["ann": .object([:])])
        #expect(wouldUseLocalList())
        #expect(!wouldUseLocalList(mayUseLocalList: false), "the caller's doubt (a node resync pending) wins")

        hub.eventStreamClosed()
        #expect(!wouldUseLocalList(), "member events do not arrive while the stream is down")
        hub.eventStreamOpened(resumed: true)
        #expect(wouldUseLocalList(), "a resumed stream missed nothing")

        hub.distrustMemberLists()
        #expect(!wouldUseLocalList(), "a reset or a new epoch may have lost member events")
        let bo = subscribeWithUshersList("bo", members: ["ann": .object([:]), "bo": .object([:])])
        #expect(!wouldUseLocalList(), "a later answer does not vouch for the list the node already tracks")

        // Once the channel empties locally, the next list comes from Usher again and is trusted.
        hub.unsubscribe(ann, from: "presence-room")
        hub.unsubscribe(bo, from: "presence-room")
        subscribeWithUshersList("cy", members: ["ann": .object([:]), "cy": .object([:])])
        #expect(wouldUseLocalList())

        // A stream started afresh (no position to resume from) may have missed events: the same goes for it.
        hub.eventStreamOpened(resumed: false)
        #expect(!wouldUseLocalList())
    }

    @Test("a list whose join began before the stream started afresh is not trusted")
    func joinAcrossRestart() {
        hub.eventStreamOpened(resumed: false)
        let connection = hub.connect(app: app, outboxLimit: 100)
        let join = hub.beginJoin(app: app.id, channel: "presence-room", mayUseLocalList: true)
        hub.eventStreamClosed()
        hub.eventStreamOpened(resumed: false)
        hub.subscribe(
            connection, to: "presence-room", LocalSubscription(channelData: nil, userID: "ann"), frame: "joined", members: ["ann": .object([:])],
            join: join)
        #expect(!wouldUseLocalList())
    }

    @Test("a join answered from the list gets the tracked members plus itself; the others hear of it from Usher's member event")
    func answeredFromList() async throws {
        hub.eventStreamOpened(resumed: false)
        let ann = subscribeWithUshersList("ann", members: ["ann": .object(["name": .string("Ann")])])
        hub.memberEvent(added: true, key: key, userID: "cy", userInfo: .object(["name": .string("Cy")]))
        let bo = hub.connect(app: app, outboxLimit: 100)
        let join = hub.beginJoin(app: app.id, channel: "presence-room", mayUseLocalList: true)
        #expect(join.usesLocalList)
        hub.subscribe(bo, to: "presence-room", LocalSubscription(channelData: nil, userID: "bo"), ownInfo: .object(["name": .string("Bo")]), join: join)
        #expect(hub.trackedMembers()[key]?["bo"] == nil, "only Usher's member_added puts the joiner in the tracked list")
        hub.memberEvent(added: true, key: key, userID: "bo", userInfo: .object(["name": .string("Bo")]))
        hub.memberEvent(added: true, key: key, userID: "dee", userInfo: nil)

        let boFrames = await frames(bo)
        #expect(boFrames.count == 2)
        let expected: [String: JSONValue] = [
            "ann": .object(["name": .string("Ann")]), "bo": .object(["name": .string("Bo")]), "cy": .object(["name": .string("Cy")]),
        ]
        #expect(try presence(boFrames.first) == .object([
            "count": .integer(3), "ids": .array(["ann", "bo", "cy"].map(JSONValue.string)), "hash": .object(expected),
        ]))
        #expect(boFrames.last == PusherFrame.memberAdded(channel: "presence-room", userID: "dee", userInfo: nil))
        #expect(await frames(ann) == [
            "ann-joined",
            PusherFrame.memberAdded(channel: "presence-room", userID: "cy", userInfo: .object(["name": .string("Cy")])),
            PusherFrame.memberAdded(channel: "presence-room", userID: "bo", userInfo: .object(["name": .string("Bo")])),
            PusherFrame.memberAdded(channel: "presence-room", userID: "dee", userInfo: nil),
        ])
    }

    @Test("a member's second socket answered from the list keeps the member's listed user_info")
    func secondSocket() async throws {
        hub.eventStreamOpened(resumed: false)
        subscribeWithUshersList("ann", members: ["ann": .object(["name": .string("Ann")])])
        let tab = hub.connect(app: app, outboxLimit: 100)
        let join = hub.beginJoin(app: app.id, channel: "presence-room", mayUseLocalList: true)
        hub.subscribe(tab, to: "presence-room", LocalSubscription(channelData: nil, userID: "ann"), ownInfo: .object(["name": .string("Other")]), join: join)
        #expect(try presence(await frames(tab).first)?["hash"] == .object(["ann": .object(["name": .string("Ann")])]))
    }

    @Test("a list a join answers from outlives its last subscriber until the join ends, kept current by member events")
    func pinned() async throws {
        hub.eventStreamOpened(resumed: false)
        let ann = subscribeWithUshersList("ann", members: ["ann": .object([:])])
        let join = hub.beginJoin(app: app.id, channel: "presence-room", mayUseLocalList: true)
        hub.unsubscribe(ann, from: "presence-room")
        hub.memberEvent(added: false, key: key, userID: "ann", userInfo: nil)
        hub.memberEvent(added: true, key: key, userID: "cy", userInfo: nil)
        let bo = hub.connect(app: app, outboxLimit: 100)
        hub.subscribe(bo, to: "presence-room", LocalSubscription(channelData: nil, userID: "bo"), ownInfo: .object([:]), join: join)
        #expect(try presence(await frames(bo).first)?["ids"] == .array(["bo", "cy"].map(JSONValue.string)))

        // A join that ends without subscribing lets the list go with its last subscriber.
        let cy = subscribeWithUshersList("cy", members: ["cy": .object([:])])
        let cancelled = hub.beginJoin(app: app.id, channel: "presence-room", mayUseLocalList: true)
        #expect(cancelled.usesLocalList)
        hub.disconnect(bo)
        hub.disconnect(cy)
        #expect(hub.trackedMembers()[key] != nil)
        hub.cancelJoin(cancelled)
        #expect(hub.trackedMembers()[key] == nil)
    }
}
