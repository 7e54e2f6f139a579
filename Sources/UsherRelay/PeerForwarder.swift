import AsyncHTTPClient
import Logging
import NIOCore
import ServiceLifecycle
import UsherCrypto

/// Forwards frames published on this node (trigger API, client events) to the other relay nodes, which deliver them
/// to their own subscribers only. Peers authenticate each other with the shared relay token.
///
/// Publishing never waits for a peer: each peer has its own bounded queue, drained in order by one task, so a slow or
/// dead peer delays neither the client that sent an event nor the trigger request, nor the other peers. A full
/// queue (a peer down for long) drops new frames, counted in the log.
final class PeerForwarder: Service, Sendable {
    /// The internal route a peer receives forwarded frames on.
    static let path = "/relay-internal/v1/publish"
    /// Frames queued per peer before new ones are dropped.
    static let queueLimit = 10_000

    private struct Peer: Sendable {
        let url: String
        let queue: AsyncStream<String>
        let continuation: AsyncStream<String>.Continuation
    }

    private let client: HTTPClient
    private let peers: [Peer]
    private let token: String
    private let logger: Logger

    init(client: HTTPClient, peers: [String], token: String, logger: Logger) {
        self.client = client
        self.token = token
        self.logger = logger
        self.peers = peers.map { url in
            let (queue, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(Self.queueLimit))
            return Peer(url: url, queue: queue, continuation: continuation)
        }
    }

    /// Queues `{"app","channels","frame","socket_id"?,"triggered"?:{"name","data","published"}}` for every peer and
    /// returns at once; `triggered` marks a server-triggered event, which cache channels keep.
    func forward(app: String, channels: [String], frame: String, exceptSocket: String?, triggered: TriggeredEvent? = nil) {
        guard !peers.isEmpty else { return }
        var body: [String: JSONValue] = ["app": .string(app), "channels": .array(channels.map(JSONValue.string)), "frame": .string(frame)]
        if let exceptSocket { body["socket_id"] = .string(exceptSocket) }
        if let triggered { body["triggered"] = triggered.json }
        let text = JSONValue.object(body).jsonText
        for peer in peers {
            if case .dropped = peer.continuation.yield(text) {
                logger.warning("peer queue full; forwarded event dropped", metadata: ["usher.peer": "\(peer.url)"])
            }
        }
    }

    /// Drains every peer's queue in order until graceful shutdown (what is queued then is still sent).
    func run() async throws {
        await withDiscardingTaskGroup { group in
            for peer in peers {
                group.addTask { for await text in peer.queue { await self.send(text, to: peer.url) } }
            }
            group.addTask {
                try? await gracefulShutdown()
                for peer in self.peers { peer.continuation.finish() }
            }
        }
    }

    /// One POST; failures are logged, not retried (a peer that is down has no subscribers to deliver to).
    private func send(_ text: String, to peer: String) async {
        var request = HTTPClientRequest(url: peer + Self.path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: text))
        do {
            let response = try await client.execute(request, timeout: .seconds(5))
            _ = try await response.body.collect(upTo: 1 << 16)
            if response.status != .ok {
                logger.warning("peer refused a forwarded event", metadata: ["usher.peer": "\(peer)", "usher.status": "\(response.status.code)"])
            }
        } catch {
            logger.warning("peer unreachable", metadata: ["usher.peer": "\(peer)", "usher.error": "\(error)"])
        }
    }
}
