import Synchronization
import Testing
import UsherCore
import UsherCrypto
@testable import UsherRelay

/// The relay's batched calls against a real Usher: what reaches Usher, in which order, and what clients get.
@Suite struct RelayBatchingTests {
    @Test("subscribes arriving while a batch is in flight reach Usher together: fewer requests than subscribes, each answered")
    func coalesced() async throws {
        try await Testbed.run(relays: 0) { bed in
            let hold = Hold()
            try await NodeSyncTests.withServices(bed, node: "test-batching-node", send: { usher, ops in
                await hold.pass()
                return try await usher.batch(ops)
            }) { services in
                #expect(await NodeSync(services: services).sync())
                let app = try TestApp.app()
                let sessions = (0..<20).map { _ in RelaySession(services: services, connection: services.hub.connect(app: app, outboxLimit: 100)) }
                let readers = sessions.map { OutboxReader($0.connection) }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, session) in sessions.enumerated() {
                        let message = try Self.subscribe(session.connection, to: "presence-crowd", user: "u\(index)")
                        group.addTask { await session.handle(message) }
                        // The first subscribe is held on its way to Usher; the others queue behind it.
                        try await waitUntil { index == 0 ? hold.arrivals == 1 : services.batcher.queuedCount == index }
                    }
                    hold.open()
                    try await group.waitForAll()
                }
                for reader in readers { _ = try await reader.next("pusher_internal:subscription_succeeded") }
                #expect(try await NodeSyncTests.presenceCount(bed, channel: "presence-crowd", reaching: 20) == .integer(20))
                #expect(try await bed.usherRequests(route: "/batch") == 2)
                #expect(try await bed.usherRequests(route: "/subscriptions") == 0)
            }
        }
    }

    @Test("subscribe then unsubscribe (or disconnect), sent back to back by many sockets at once, leave Usher with no member")
    func perSocketOrder() async throws {
        try await Testbed.run { bed in
            var sockets: [PusherSocket] = []
            for _ in 0..<12 { sockets.append(try await PusherSocket.connect(port: bed.relayPorts[0])) }
            for (index, socket) in sockets.enumerated() {
                try socket.subscribe("presence-flurry", channelData: #"{"user_id":"u\#(index)"}"#)
                if index.isMultiple(of: 2) {
                    socket.send("pusher:unsubscribe", data: .object(["channel": .string("presence-flurry")]))
                    socket.send("pusher:ping", data: .object([:]))
                }
            }
            for (index, socket) in sockets.enumerated() where !index.isMultiple(of: 2) {
                _ = try await socket.next("pusher_internal:subscription_succeeded")
                socket.abort()
            }
            for (index, socket) in sockets.enumerated() where index.isMultiple(of: 2) {
                _ = try await socket.next("pusher_internal:subscription_succeeded")
                // Messages are handled in order: the pong comes once the unsubscribe was answered by Usher.
                _ = try await socket.next("pusher:pong")
            }
            #expect(try await NodeSyncTests.presenceCount(bed, channel: "presence-flurry", reaching: 0) == .integer(0))
            for socket in sockets { socket.abort() }
        }
    }

    @Test("a batch whose answer is lost fails its ops as the single calls failed: ServerError, and a snapshot at the next heartbeat")
    func lostAnswer() async throws {
        try await Testbed.run(relays: 0) { bed in
            let lose = Flag()
            try await NodeSyncTests.withServices(bed, node: "test-lost-node", send: { usher, ops in
                let replies = try await usher.batch(ops)
                if lose.isSet { throw RelayError.usher("the answer was lost") }
                return replies
            }) { services in
                let node = NodeSync(services: services)
                #expect(await node.sync())
                let connection = services.hub.connect(app: try TestApp.app(), outboxLimit: 100)
                let session = RelaySession(services: services, connection: connection)
                let reader = OutboxReader(connection)
                await session.handle(try Self.subscribe(connection, to: "presence-kept", user: "kim"))
                _ = try await reader.next("pusher_internal:subscription_succeeded")

                lose.set(true)
                let unsubscribe = JSONValue.object(["event": .string("pusher:unsubscribe"), "data": .object(["channel": .string("presence-kept")])])
                await session.handle(unsubscribe.jsonText)
                #expect(services.resyncRequested.take(), "a leave whose outcome is unknown must resync the node")
                await session.handle(try Self.subscribe(connection, to: "presence-lost", user: "lou"))
                let refusal = PusherSocket.data(try await reader.next("pusher:subscription_error"))
                #expect(refusal?["type"] == .string("ServerError"))
                #expect(refusal?["status"] == .integer(503))
                #expect(services.resyncRequested.isRequested, "a join whose outcome is unknown must resync the node")
                #expect(services.hub.subscription(connection, to: "presence-lost") == nil)
                #expect(try await NodeSyncTests.presenceCount(bed, channel: "presence-lost", reaching: 1) == .integer(1), "Usher applied the join")

                lose.set(false)
                #expect(await node.sync())
                #expect(
                    try await NodeSyncTests.presenceCount(bed, channel: "presence-lost", reaching: 0) == .integer(0),
                    "the snapshot kept a join the node never got")
            }
        }
    }

    @Test("a join into a channel the node tracks asks Usher for no member list; the client still gets every member and itself")
    func localMemberList() async throws {
        try await Testbed.run(relays: 0) { bed in
            let sent = BatchLog()
            try await NodeSyncTests.withServices(bed, node: "test-local-node", send: { usher, ops in
                sent.append(ops)
                return try await usher.batch(ops)
            }) { services in
                let node = NodeSync(services: services)
                #expect(await node.sync())
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await EventFollower(services: services, node: node).run() }
                    defer { group.cancelAll() }
                    let app = try TestApp.app()
                    let other = UsherAPI(
                        client: .shared, baseURL: "http://127.0.0.1:\(bed.usherPort)", token: TestApp.relayToken,
                        node: try NodeID(validating: "test-other-node"))

                    // A member event seen locally proves the event stream follows; lists built from then on are trusted.
                    let probe = services.hub.connect(app: app, outboxLimit: 100)
                    let probeReader = OutboxReader(probe)
                    await RelaySession(services: services, connection: probe).handle(try Self.subscribe(probe, to: "presence-probe", user: "probe"))
                    _ = try await probeReader.next("pusher_internal:subscription_succeeded")
                    try await Self.remoteJoin(other, socket: "7.1", to: "presence-probe", user: "echo")
                    _ = try await probeReader.next("pusher_internal:member_added")

                    let ann = services.hub.connect(app: app, outboxLimit: 100)
                    let annReader = OutboxReader(ann)
                    let annJoins = try Self.subscribe(ann, to: "presence-room", user: "ann", info: ["name": .string("Ann")])
                    await RelaySession(services: services, connection: ann).handle(annJoins)
                    _ = try await annReader.next("pusher_internal:subscription_succeeded")
                    try await Self.remoteJoin(other, socket: "7.2", to: "presence-room", user: "bo", info: ["name": .string("Bo")])
                    _ = try await annReader.next("pusher_internal:member_added")

                    let cy = services.hub.connect(app: app, outboxLimit: 100)
                    let cyReader = OutboxReader(cy)
                    let cyJoins = try Self.subscribe(cy, to: "presence-room", user: "cy", info: ["name": .string("Cy")])
                    await RelaySession(services: services, connection: cy).handle(cyJoins)
                    let joined = PusherSocket.data(try await cyReader.next("pusher_internal:subscription_succeeded"))
                    #expect(joined?["presence"] == .object([
                        "count": .integer(3), "ids": .array(["ann", "bo", "cy"].map(JSONValue.string)),
                        "hash": .object([
                            "ann": .object(["name": .string("Ann")]), "bo": .object(["name": .string("Bo")]), "cy": .object(["name": .string("Cy")]),
                        ]),
                    ]))
                    let cyJoin = sent.ops.last { $0["socket_id"]?.stringValue == cy.socketID.description }
                    #expect(cyJoin?["presence"] == .bool(false), "the join asked for the member list: \(cyJoin?.jsonText ?? "-")")
                    let annJoin = sent.ops.last { $0["socket_id"]?.stringValue == ann.socketID.description }
                    #expect(annJoin?["presence"] == nil, "a channel's first local join must get Usher's list")

                    // Usher announced cy as usual; cy hears of the next member, never of itself.
                    #expect(PusherSocket.data(try await annReader.next("pusher_internal:member_added"))?["user_id"] == .string("cy"))
                    try await Self.remoteJoin(other, socket: "7.3", to: "presence-room", user: "dee")
                    let next = try await cyReader.next()
                    #expect(next["event"] == .string("pusher_internal:member_added"))
                    #expect(PusherSocket.data(next)?["user_id"] == .string("dee"))
                }
            }
        }
    }

    @Test("a third member joining on a node that already has the channel gets every member and itself, and is announced on both nodes")
    func thirdMemberAcrossNodes() async throws {
        try await Testbed.run(relays: 2) { bed in
            let ann = try await PusherSocket.connect(port: bed.relayPorts[0])
            try ann.subscribe("presence-room", channelData: #"{"user_id":"ann","user_info":{"name":"Ann"}}"#)
            _ = try await ann.next("pusher_internal:subscription_succeeded")
            let bo = try await PusherSocket.connect(port: bed.relayPorts[1])
            try bo.subscribe("presence-room", channelData: #"{"user_id":"bo"}"#)
            _ = try await bo.next("pusher_internal:subscription_succeeded")
            _ = try await ann.next("pusher_internal:member_added")

            let cy = try await PusherSocket.connect(port: bed.relayPorts[0])
            try cy.subscribe("presence-room", channelData: #"{"user_id":"cy","user_info":{"name":"Cy"}}"#)
            let presence = PusherSocket.data(try await cy.next("pusher_internal:subscription_succeeded"))?["presence"]
            #expect(presence?["count"] == .integer(3))
            let ids: [String]? = if case .array(let list)? = presence?["ids"] { list.compactMap(\.stringValue).sorted() } else { nil }
            #expect(ids == ["ann", "bo", "cy"])
            #expect(presence?["hash"]?["ann"] == .object(["name": .string("Ann")]))
            #expect(presence?["hash"]?["bo"] == .object([:]))
            #expect(presence?["hash"]?["cy"] == .object(["name": .string("Cy")]))
            for socket in [ann, bo] {
                #expect(PusherSocket.data(try await socket.next("pusher_internal:member_added"))?["user_id"] == .string("cy"))
            }
            for socket in [ann, bo, cy] { socket.abort() }
        }
    }

    /// A `pusher:subscribe` to a presence channel as `connection`'s client sends it, signed with the app secret.
    static func subscribe(_ connection: RelayConnection, to channel: String, user: String, info: [String: JSONValue]? = nil) throws -> String {
        let channelData = try ChannelData.make(userID: user, userInfo: info.map(JSONValue.object))
        let auth = try TestApp.authorizer.authorizePresence(
            socketID: connection.socketID, channel: ChannelName(validating: channel), channelData: channelData).auth
        return JSONValue.object([
            "event": .string("pusher:subscribe"),
            "data": .object(["channel": .string(channel), "auth": .string(auth), "channel_data": .string(channelData)]),
        ]).jsonText
    }

    /// A presence join by another relay node, straight through Usher's batch endpoint.
    static func remoteJoin(_ usher: UsherAPI, socket: String, to channel: String, user: String, info: [String: JSONValue]? = nil) async throws {
        let channelData = try ChannelData.make(userID: user, userInfo: info.map(JSONValue.object))
        let auth = try TestApp.authorizer.authorizePresence(
            socketID: SocketID(validating: socket), channel: ChannelName(validating: channel), channelData: channelData).auth
        let op = JSONValue.object([
            "op": .string("join"), "app": .string(TestApp.id), "socket_id": .string(socket), "channel": .string(channel),
            "auth": .string(auth), "channel_data": .string(channelData),
        ])
        let replies = try await usher.batch([op.jsonText])
        guard replies.first?.status == 200 else { throw TestbedError("Usher refused \(user)'s join: \(replies)") }
    }
}

/// Holds every batch on its way to Usher until ``open()``.
final class Hold: Sendable {
    private let state = Mutex<(arrivals: Int, isOpen: Bool, waiting: [CheckedContinuation<Void, Never>])>((0, false, []))

    /// Batches that reached the hold so far.
    var arrivals: Int { state.withLock { $0.arrivals } }

    func pass() async {
        await withCheckedContinuation { continuation in
            let go = state.withLock { state in
                state.arrivals += 1
                if !state.isOpen { state.waiting.append(continuation) }
                return state.isOpen
            }
            if go { continuation.resume() }
        }
    }

    func open() {
        let waiting = state.withLock { state in
            state.isOpen = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }
}

/// A switch a test flips while the relay runs.
final class Flag: Sendable {
    private let value = Atomic(false)

    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
    func set(_ on: Bool) { value.store(on, ordering: .sequentiallyConsistent) }
}

/// Every op the relay sent to Usher, parsed.
final class BatchLog: Sendable {
    private let sent = Mutex<[JSONValue]>([])

    var ops: [JSONValue] { sent.withLock { $0 } }
    func append(_ ops: [String]) { sent.withLock { $0 += ops.compactMap { try? JSONValue.parse($0) } } }
}
