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
                await session.handle(JSONValue.object(["event": .string("pusher:unsubscribe"), "data": .object(["channel": .string("presence-kept")])]).jsonText)
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
                #expect(try await NodeSyncTests.presenceCount(bed, channel: "presence-lost", reaching: 0) == .integer(0), "the snapshot kept a join the node never got")
            }
        }
    }

    /// A `pusher:subscribe` to a presence channel as `connection`'s client sends it, signed with the app secret.
    static func subscribe(_ connection: RelayConnection, to channel: String, user: String, info: [String: JSONValue]? = nil) throws -> String {
        let channelData = try ChannelData.make(userID: user, userInfo: info.map(JSONValue.object))
        let auth = try TestApp.authorizer.authorizePresence(socketID: connection.socketID, channel: ChannelName(validating: channel), channelData: channelData).auth
        return JSONValue.object([
            "event": .string("pusher:subscribe"),
            "data": .object(["channel": .string(channel), "auth": .string(auth), "channel_data": .string(channelData)]),
        ]).jsonText
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
