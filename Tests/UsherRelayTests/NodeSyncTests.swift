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
            var configuration = RelayConfiguration(node: try NodeID(validating: "test-ghost-node"))
            configuration.apps = [try TestApp.app()]
            let usher = UsherAPI(client: .shared, baseURL: "http://127.0.0.1:\(bed.usherPort)", token: TestApp.relayToken, node: configuration.node)
            let services = RelayServices(
                configuration: configuration, hub: ConnectionHub(), usher: usher,
                peers: PeerForwarder(client: .shared, peers: [], token: TestApp.relayToken, logger: TestApp.quietLogger), logger: TestApp.quietLogger)
            let node = NodeSync(services: services)
            #expect(await node.sync())

            // Usher records a subscription the hub never got (as when the relay gave up on a subscribe that succeeded).
            let channelData = #"{"user_id":"ghost"}"#
            let auth = try TestApp.authorizer.authorizePresence(
                socketID: SocketID(validating: "9.9"), channel: ChannelName(validating: "presence-room"), channelData: channelData).auth
            let outcome = try await usher.subscribe(app: TestApp.id, socketID: "9.9", channel: "presence-room", auth: auth, channelData: channelData)
            guard case .subscribed = outcome else { throw TestbedError("Usher refused the ghost: \(outcome)") }
            let path = "/relay/v1/apps/\(TestApp.id)/presence/presence-room"

            // Heartbeats alone keep it: the epoch did not change.
            #expect(await node.sync())
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await bed.usherGET(path)?["presence"]?["count"] == .integer(1))

            services.requestResync()
            #expect(await node.sync())
            var count: JSONValue?
            for _ in 0..<50 {
                count = try await bed.usherGET(path)?["presence"]?["count"] ?? .integer(0)
                if count == .integer(0) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(count == .integer(0), "the ghost survived the requested resync")
        }
    }
}
