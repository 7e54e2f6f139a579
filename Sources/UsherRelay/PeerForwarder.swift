import AsyncHTTPClient
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import UsherCrypto

/// Forwards frames published on this node (trigger API, client events) to the other relay nodes, which deliver them
/// to their own subscribers only. Peers authenticate each other with the shared relay token.
///
/// The peers are the `--peer` URLs when given; otherwise they are discovered: every heartbeat's answer lists the
/// other live nodes and where they take forwarded frames (``update(discovered:)``), so a node started later is
/// forwarded to from the next heartbeat on, and one whose lease lapsed is dropped.
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

        init(url: String) {
            self.url = url
            (queue, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(PeerForwarder.queueLimit))
        }
    }

    private let client: HTTPClient
    private let token: String
    private let logger: Logger
    private let metrics: RelayMetrics
    /// Whether the peers come from heartbeats (no `--peer` given).
    let discovers: Bool
    private let peers = Mutex<[String: Peer]>([:])
    /// Peers to start draining, for the run loop.
    private let added: AsyncStream<Peer>
    private let adding: AsyncStream<Peer>.Continuation

    /// - Parameter peers: The `--peer` URLs; empty to discover peers through heartbeats.
    init(client: HTTPClient, peers: [String], token: String, metrics: RelayMetrics = RelayMetrics(), logger: Logger) {
        self.client = client
        self.metrics = metrics
        self.token = token
        self.logger = logger
        discovers = peers.isEmpty
        (added, adding) = AsyncStream.makeStream(of: Peer.self)
        update(peers)
    }

    /// The peers this node forwards to now.
    var urls: [String] { peers.withLock { $0.keys.sorted() } }

    /// Takes the peers a heartbeat listed (their forward URLs); ignored when `--peer` fixed them.
    func update(discovered urls: [String]) {
        guard discovers else { return }
        update(urls)
    }

    private func update(_ urls: [String]) {
        let wanted = Set(urls)
        let (new, gone) = peers.withLock { peers in
            let new = wanted.subtracting(peers.keys).map(Peer.init(url:))
            for peer in new { peers[peer.url] = peer }
            let gone = peers.keys.filter { !wanted.contains($0) }
            for url in gone { peers.removeValue(forKey: url)?.continuation.finish() }
            return (new, gone)
        }
        for peer in new { adding.yield(peer) }
        if !new.isEmpty || !gone.isEmpty {
            logger.info("relay peers changed", metadata: ["usher.added": "\(new.map(\.url).sorted())", "usher.removed": "\(gone.sorted())"])
        }
    }

    /// Queues `{"app","channels","frame","socket_id"?,"triggered"?:{"name","data","published"}}` for every peer and
    /// returns at once; `triggered` marks a server-triggered event, which cache channels keep.
    func forward(app: String, channels: [String], frame: String, exceptSocket: String?, triggered: TriggeredEvent? = nil) {
        let current = peers.withLock { Array($0.values) }
        guard !current.isEmpty else { return }
        var body: [String: JSONValue] = ["app": .string(app), "channels": .array(channels.map(JSONValue.string)), "frame": .string(frame)]
        if let exceptSocket { body["socket_id"] = .string(exceptSocket) }
        if let triggered { body["triggered"] = triggered.json }
        let text = JSONValue.object(body).jsonText
        for peer in current {
            switch peer.continuation.yield(text) {
            case .enqueued: metrics.peerQueued(1)
            case .dropped:
                metrics.peerForwardDrops.increment()
                logger.warning("peer queue full; forwarded event dropped", metadata: ["usher.peer": "\(peer.url)"])
            default: break
            }
        }
    }

    /// Drains every peer's queue in order until graceful shutdown (what is queued then is still sent); a peer
    /// dropped meanwhile has its queue finished, and its task ends once the queue is sent.
    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                try? await gracefulShutdown()
                self.adding.finish()
                self.peers.withLock { peers in for peer in peers.values { peer.continuation.finish() } }
            }
            for await peer in added {
                group.addTask {
                    for await text in peer.queue {
                        await self.send(text, to: peer.url)
                        self.metrics.peerSent()
                    }
                }
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
                metrics.peerForwardFailures.increment()
                logger.warning("peer refused a forwarded event", metadata: ["usher.peer": "\(peer)", "usher.status": "\(response.status.code)"])
            }
        } catch {
            metrics.peerForwardFailures.increment()
            logger.warning("peer unreachable", metadata: ["usher.peer": "\(peer)", "usher.error": "\(error)"])
        }
    }
}
