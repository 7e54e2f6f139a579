import AsyncHTTPClient
import Logging
import Testing
import UsherCore
import UsherCrypto
@testable import UsherRelay

/// The node heartbeat against a real Usher.
@Suite struct NodeSyncTests {
    @Test("after requestResync the next heartbeat sends a full snapshot, removing a socket Usher holds and the node does not")
    func requestedResync() async throws {
        try await Testbed.run(relays: 0) { bed in
            try await Self.withServices(bed, node: "test-ghost-node") { services in
                let node = NodeSync(services: services)
                #expect(await node.sync())

                // Usher records a subscription the hub never got (as when the relay gave up on a subscribe that succeeded).
                let channelData = #"{"user_id":"ghost"}"#
                let auth = try TestApp.authorizer.authorizePresence(
                    socketID: SocketID(validating: "9.9"), channel: ChannelName(validating: "presence-room"), channelData: channelData).auth
                let outcome = try await services.batcher.join(app: TestApp.id, socketID: "9.9", channel: "presence-room", auth: auth, channelData: channelData)
                guard case .subscribed = outcome else { throw TestbedError("Usher refused the ghost: \(outcome)") }

                // Heartbeats alone keep it: the epoch did not change.
                #expect(await node.sync())
                try await Task.sleep(for: .milliseconds(400))
                #expect(try await bed.usherGET("/relay/v1/apps/\(TestApp.id)/presence/presence-room")?["presence"]?["count"] == .integer(1))

                services.requestResync()
                #expect(await node.sync())
                #expect(try await Self.presenceCount(bed, channel: "presence-room", reaching: 0) == .integer(0), "the ghost survived the requested resync")
            }
        }
    }

    /// A relay's shared parts against the testbed's Usher, without a server: the test drives them directly.
    ///
    /// - Parameter send: How the batcher sends a batch, given Usher's relay API; the real call by default.
    static func services(
        _ bed: Testbed, node: String,
        send: @escaping @Sendable (UsherAPI, [String]) async throws -> [UsherAPI.Reply] = { usher, ops in try await usher.batch(ops) }
    ) throws -> RelayServices {
        var configuration = RelayConfiguration(node: try NodeID(validating: node))
        configuration.apps = [try TestApp.app()]
        let usher = UsherAPI(client: .shared, baseURL: "http://127.0.0.1:\(bed.usherPort)", token: TestApp.relayToken, node: configuration.node)
        return RelayServices(
            configuration: configuration, hub: ConnectionHub(), usher: usher, batcher: CallBatcher(send: { try await send(usher, $0) }),
            peers: PeerForwarder(client: .shared, peers: [], token: TestApp.relayToken, logger: TestApp.quietLogger), logger: TestApp.quietLogger)
    }

    /// Runs `body` with ``services(_:node:send:)`` and their batcher running, as the relay's service group runs it.
    static func withServices(
        _ bed: Testbed, node: String,
        send: @escaping @Sendable (UsherAPI, [String]) async throws -> [UsherAPI.Reply] = { usher, ops in try await usher.batch(ops) },
        _ body: (RelayServices) async throws -> Void
    ) async throws {
        let services = try services(bed, node: node, send: send)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.batcher.run() }
            defer { group.cancelAll() }
            try await body(services)
        }
    }

    /// The presence count Usher reports once it reaches `expected` (or the last one seen after about 2 s).
    static func presenceCount(_ bed: Testbed, channel: String, reaching expected: Int) async throws -> JSONValue? {
        var count: JSONValue?
        for _ in 0..<20 {
            count = try await bed.usherGET("/relay/v1/apps/\(TestApp.id)/presence/\(channel)")?["presence"]?["count"] ?? .integer(0)
            if count == .integer(Int64(expected)) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return count
    }

    @Test("an unsubscribe waits for a snapshot in flight, so the snapshot cannot put the socket back in Usher")
    func unsubscribeVersusSnapshot() async throws {
        try await Testbed.run(relays: 0) { bed in
            try await Self.withServices(bed, node: "test-gate-node") { services in
                #expect(await NodeSync(services: services).sync())
                let connection = services.hub.connect(app: try TestApp.app(), outboxLimit: 100)
                let session = RelaySession(services: services, connection: connection)
                let channelData = #"{"user_id":"gina"}"#
                let auth = try TestApp.authorizer.authorizePresence(
                    socketID: connection.socketID, channel: ChannelName(validating: "presence-room"), channelData: channelData).auth
                let subscribe = JSONValue.object([
                    "event": .string("pusher:subscribe"),
                    "data": .object(["channel": .string("presence-room"), "auth": .string(auth), "channel_data": .string(channelData)]),
                ])
                await session.handle(subscribe.jsonText)
                #expect(try await Self.presenceCount(bed, channel: "presence-room", reaching: 1) == .integer(1))

                // A resync takes its snapshot (still listing the subscription), then is slow to send it.
                let (taken, tookIt) = AsyncStream.makeStream(of: Void.self)
                let resync = Task {
                    try await services.gate.resync {
                        let snapshot = services.hub.snapshot()
                        tookIt.yield()
                        try await Task.sleep(for: .milliseconds(300))
                        return try await services.usher.replaceSockets(snapshot)
                    }
            }
            var iterator = taken.makeAsyncIterator()
            _ = await iterator.next()
            let unsubscribe = JSONValue.object(["event": .string("pusher:unsubscribe"), "data": .object(["channel": .string("presence-room")])])
            await session.handle(unsubscribe.jsonText)
            _ = try await resync.value
            #expect(try await Self.presenceCount(bed, channel: "presence-room", reaching: 0) == .integer(0), "the snapshot re-added the socket")
            }
        }
    }
}
