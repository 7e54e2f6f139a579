import Testing
import UsherCore
import UsherCrypto
@testable import UsherRelay

/// The hub's tracked member lists, without I/O.
@Suite struct ConnectionHubTests {
    /// Everything queued for `connection`, after closing it.
    private func frames(_ connection: RelayConnection) async -> [String] {
        connection.close(code: 1000, reason: "test")
        var frames: [String] = []
        for await frame in connection.outbox { frames.append(frame) }
        return frames
    }

    @Test("an older subscribe answer does not replace the member list; member events that change nothing are dropped")
    func memberBookkeeping() async throws {
        let hub = ConnectionHub()
        let app = try TestApp.app()
        let key = ChannelKey(app: app.id, channel: "presence-room")
        let ann = hub.connect(app: app, outboxLimit: 100)
        let bo = hub.connect(app: app, outboxLimit: 100)
        hub.subscribe(ann, to: "presence-room", LocalSubscription(channelData: nil, userID: "ann"), frame: "ann-joined", members: ["ann": .object([:])])
        hub.memberEvent(added: true, key: key, userID: "bo", userInfo: nil)
        hub.memberEvent(added: true, key: key, userID: "cy", userInfo: nil)
        hub.memberEvent(added: false, key: key, userID: "cy", userInfo: nil)
        // bo's answer from Usher was taken before cy left and says nothing of bo's own join: it must not win.
        hub.subscribe(
            bo, to: "presence-room", LocalSubscription(channelData: nil, userID: "bo"), frame: "bo-joined",
            members: ["ann": .object([:]), "cy": .object([:])])
        #expect(Set(hub.trackedMembers()[key]?.keys ?? [:].keys) == ["ann", "bo"])
        // Duplicates (bo's own member_added racing its subscribe, a resync replaying ann) and removals of strangers.
        hub.memberEvent(added: true, key: key, userID: "bo", userInfo: nil)
        hub.memberEvent(added: true, key: key, userID: "ann", userInfo: nil)
        hub.memberEvent(added: false, key: key, userID: "zed", userInfo: nil)
        hub.memberEvent(added: false, key: key, userID: "bo", userInfo: nil)
        let annFrames = await frames(ann)
        #expect(annFrames == [
            "ann-joined",
            PusherFrame.memberAdded(channel: "presence-room", userID: "bo", userInfo: nil),
            PusherFrame.memberAdded(channel: "presence-room", userID: "cy", userInfo: nil),
            PusherFrame.memberRemoved(channel: "presence-room", userID: "cy"),
            PusherFrame.memberRemoved(channel: "presence-room", userID: "bo"),
        ])
        #expect(await frames(bo) == ["bo-joined"])
    }

    @Test("member events between Usher's answer and the socket's registration reach the new subscriber's member list")
    func joinRace() async throws {
        let hub = ConnectionHub()
        let app = try TestApp.app()
        let key = ChannelKey(app: app.id, channel: "presence-room")
        let bo = hub.connect(app: app, outboxLimit: 100)
        let join = hub.beginJoin(app: app.id, channel: "presence-room", mayUseLocalList: true)
        // Usher answers bo's subscribe with ann and cy; before bo is registered, the event stream brings cy leaving
        // and dee joining (both after Usher's answer), and ann joining (before it, so already in the list).
        hub.memberEvent(added: true, key: key, userID: "ann", userInfo: nil)
        hub.memberEvent(added: false, key: key, userID: "cy", userInfo: nil)
        hub.memberEvent(added: true, key: key, userID: "dee", userInfo: .object(["name": .string("Dee")]))
        let answer: [String: JSONValue] = ["ann": .object([:]), "bo": .object([:]), "cy": .object([:])]
        hub.subscribe(
            bo, to: "presence-room", LocalSubscription(channelData: nil, userID: "bo"), frame: "stale", members: answer, join: join)
        let expected: [String: JSONValue] = ["ann": .object([:]), "bo": .object([:]), "dee": .object(["name": .string("Dee")])]
        #expect(hub.trackedMembers()[key] == expected)
        let sent = await frames(bo)
        #expect(sent.count == 1)
        let frame = try JSONValue.parse(try #require(sent.first))
        let data = try JSONValue.parse(try #require(frame["data"]?.stringValue))
        let presence = try #require(data["presence"])
        #expect(presence["hash"] == .object(expected))
        #expect(presence["ids"] == .array(["ann", "bo", "dee"].map(JSONValue.string)))
        #expect(presence["count"] == .integer(3))
    }

    @Test("a join with nothing recorded sends Usher's answer as it came; later events follow it")
    func joinWithoutEvents() async throws {
        let hub = ConnectionHub()
        let app = try TestApp.app()
        let key = ChannelKey(app: app.id, channel: "presence-room")
        let bo = hub.connect(app: app, outboxLimit: 100)
        let refused = hub.beginJoin(app: app.id, channel: "presence-room", mayUseLocalList: true)
        hub.cancelJoin(refused)
        let join = hub.beginJoin(app: app.id, channel: "presence-room", mayUseLocalList: true)
        hub.subscribe(bo, to: "presence-room", LocalSubscription(channelData: nil, userID: "bo"), frame: "as-answered", members: ["bo": .object([:])], join: join)
        hub.memberEvent(added: true, key: key, userID: "ann", userInfo: nil)
        // ann's join came after the registration, so it is a member event, not part of the answer.
        #expect(await frames(bo) == ["as-answered", PusherFrame.memberAdded(channel: "presence-room", userID: "ann", userInfo: nil)])
    }

    @Test("a closed connection takes no new subscription")
    func closedConnection() async throws {
        let hub = ConnectionHub()
        let connection = hub.connect(app: try TestApp.app(), outboxLimit: 100)
        connection.close(code: 4009, reason: "terminated")
        hub.subscribe(connection, to: "news", LocalSubscription(channelData: nil, userID: nil), frame: "joined", members: nil)
        #expect(hub.subscription(connection, to: "news") == nil)
        #expect(connection.closeFrame?.code == 4009)
    }

    @Test("an overflowing outbox records the 4100 close instead of dropping it")
    func overflow() async throws {
        let hub = ConnectionHub()
        let connection = hub.connect(app: try TestApp.app(), outboxLimit: 2)
        for index in 0..<3 { connection.send("frame \(index)") }
        #expect(connection.isClosed)
        #expect(connection.closeFrame?.code == 4100)
        // A later close does not replace it.
        connection.close(code: 4009, reason: "terminated")
        #expect(connection.closeFrame?.code == 4100)
        #expect(await frames(connection) == ["frame 0", "frame 1"])
    }
}
