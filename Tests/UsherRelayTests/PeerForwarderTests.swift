import AsyncHTTPClient
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing
@testable import UsherRelay

/// Forwarding to a peer that accepts connections and never answers: memory, shutdown and logging stay bounded.
@Suite struct PeerForwarderTests {
    /// A TCP listener that accepts and never reads or answers (a stalled node).
    static func stalledPeer() async throws -> (url: String, channel: any Channel) {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.autoRead, value: false)
            .bind(host: "127.0.0.1", port: 0).get()
        return ("http://127.0.0.1:\(channel.localAddress?.port ?? 0)", channel)
    }

    static func sample(_ metrics: RelayMetrics, _ name: String) -> Int {
        var bytes: [UInt8] = []
        metrics.registry.emit(into: &bytes)
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n")
            .first { $0.hasPrefix(name + " ") }.flatMap { Double($0.dropFirst(name.count + 1)) }.map { Int($0) } ?? -1
    }

    @Test("shutdown stops sending to a stalled peer at its drain deadline and counts what it drops")
    func shutdownDeadline() async throws {
        let (url, listener) = try await Self.stalledPeer()
        let metrics = RelayMetrics()
        let forwarder = PeerForwarder(
            client: HTTPClient.shared, peers: [url], token: "t", metrics: metrics, drainTimeout: .milliseconds(300),
            logger: TestApp.quietLogger)
        let group = ServiceGroup(services: [forwarder], logger: TestApp.quietLogger)
        let running = Task { try await group.run() }
        for n in 0..<100 { forwarder.forward(app: "1", channels: ["news"], frame: "frame \(n)", exceptSocket: nil) }
        try await Task.sleep(for: .milliseconds(200))  // the first frame is in flight (5 s timeout per frame)
        let start = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await running.value
        // Before the deadline, shutdown waited for every queued frame: 100 × 5 s. (A generous bound: a loaded machine.)
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(Self.sample(metrics, "usher_relay_peer_forward_drops_total") == 99)
        #expect(Self.sample(metrics, "usher_relay_peer_queue_depth") == 0)
        try await listener.close()
    }

    @Test("a stalled peer's queue holds at most its byte limit; the frames over it are dropped and counted")
    func byteLimit() {
        let metrics = RelayMetrics()
        // Not running: nothing is sent, so the queue only fills.
        let forwarder = PeerForwarder(client: HTTPClient.shared, peers: ["http://127.0.0.1:9"], token: "t", metrics: metrics, logger: TestApp.quietLogger)
        let frame = String(repeating: "x", count: 1 << 20)
        for _ in 0..<12 { forwarder.forward(app: "1", channels: ["news"], frame: frame, exceptSocket: nil) }
        let queued = 12 - Self.sample(metrics, "usher_relay_peer_forward_drops_total")
        // Each forwarded body is the 1 MiB frame plus a few bytes of JSON around it: 7 fit in 8 MiB.
        #expect(queued == PeerForwarder.queueByteLimit / (1 << 20) - 1)
    }
}
