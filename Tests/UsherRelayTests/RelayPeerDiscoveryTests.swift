import AsyncHTTPClient
import Hummingbird
import NIOCore
import ServiceLifecycle
import Testing
import UsherCore
import UsherCrypto
@testable import UsherRelay

/// Peer discovery through Usher (DESIGN.md, relay contract): each relay announces its forward URL in its heartbeat and
/// forwards published events to the other live nodes Usher lists, so a node started later is reached without
/// restarting the others, and a node whose lease lapsed is dropped.
@Suite struct RelayPeerDiscoveryTests {
    /// The forward URLs Usher lists to a node's heartbeat (here a probe node announcing nothing).
    static func listedPeers(_ bed: Testbed) async throws -> [String] {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(bed.usherPort)/relay/v1/nodes/probe")
        request.method = .PUT
        request.headers.add(name: "Authorization", value: "Bearer \(TestApp.relayToken)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        let json = try JSONValue.parse(bytes: Array(buffer: try await response.body.collect(upTo: 1 << 16)))
        guard case .array(let peers)? = json["peers"] else { return [] }
        return peers.compactMap { $0["forward_url"]?.stringValue }.sorted()
    }

    /// Triggers on node 0 until `socket` receives the event (its node must first be discovered), at most 10 s.
    static func publishUntilReceived(_ bed: Testbed, by socket: PusherSocket) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        var attempt = 0
        while ContinuousClock.now < deadline {
            attempt += 1
            #expect(try await bed.trigger(body: #"{"name":"tick","channel":"news","data":"\#(attempt)"}"#).0 == 200)
            if await socket.receives("tick", channel: "news", within: .milliseconds(300)) { return }
        }
        Issue.record("no event reached the socket within 10 s")
    }

    @Test("a relay started after the others is forwarded to with no restart; a stopped one leaves Usher's list")
    func discovery() async throws {
        var settings = Testbed.Timings()
        settings.discoversPeers = true
        let timings = settings
        try await Testbed.run(relays: 2, timings: timings) { bed in
            let bob = try await PusherSocket.connect(port: bed.relayPorts[1])
            try bob.subscribe("news")
            _ = try await bob.next("pusher_internal:subscription_succeeded", channel: "news")
            try await Self.publishUntilReceived(bed, by: bob)

            // Node C starts later; A learns of it at its next heartbeat.
            let port = try Testbed.freePort()
            let configuration = try Testbed.relayConfiguration(port: port, usherPort: bed.usherPort, keys: bed.keys, peers: [], timings: timings)
            let service = ServiceGroup(
                services: [try buildRelay(configuration: configuration, logger: TestApp.quietLogger)], logger: TestApp.quietLogger)
            let running = Task { try await service.run() }
            try await Testbed.waitUntilListening(port: port)
            let carol = try await PusherSocket.connect(port: port)
            try carol.subscribe("news")
            _ = try await carol.next("pusher_internal:subscription_succeeded", channel: "news")
            try await Self.publishUntilReceived(bed, by: carol)
            carol.abort()
            let all = (bed.relayPorts + [port]).map { "http://127.0.0.1:\($0)" }.sorted()
            #expect(try await Self.listedPeers(bed) == all)

            // C stops: once its lease (3 s) lapses, Usher lists only A and B, so their next heartbeats drop it.
            await service.triggerGracefulShutdown()
            try await running.value
            let deadline = ContinuousClock.now + .seconds(10)
            while try await Self.listedPeers(bed).count == 3, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await Self.listedPeers(bed) == bed.relayPorts.map { "http://127.0.0.1:\($0)" }.sorted())
            bob.abort()
        }
    }

    @Test("discovered peers are added and dropped as heartbeats list them; --peer fixes the list")
    func forwarderUpdates() async throws {
        let discovering = PeerForwarder(client: HTTPClient.shared, peers: [], token: "t", logger: TestApp.quietLogger)
        #expect(discovering.discovers)
        discovering.update(discovered: ["http://b:1", "http://c:1"])
        #expect(discovering.urls == ["http://b:1", "http://c:1"])
        discovering.update(discovered: ["http://c:1", "http://d:1"])
        #expect(discovering.urls == ["http://c:1", "http://d:1"])
        let fixed = PeerForwarder(client: HTTPClient.shared, peers: ["http://b:1"], token: "t", logger: TestApp.quietLogger)
        #expect(!fixed.discovers)
        fixed.update(discovered: ["http://c:1"])
        #expect(fixed.urls == ["http://b:1"])
    }
}
