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
/// queue (a peer down for long: ``queueLimit`` frames or ``queueByteLimit`` bytes) drops new frames; so does a peer
/// that left the list (its lease lapsed). Drops are counted (`peer_forward_drops_total`) and logged at most once per
/// peer every ten seconds. A graceful shutdown keeps sending for at most `drainTimeout`, then drops what is left.
final class PeerForwarder: Service, Sendable {
    /// The internal route a peer receives forwarded frames on.
    static let path = "/relay-internal/v1/publish"
    /// Frames queued per peer before new ones are dropped.
    static let queueLimit = 10_000
    /// Bytes queued per peer before new frames are dropped: a stalled peer holds at most this much memory.
    static let queueByteLimit = 8 << 20

    private struct Peer: Sendable {
        let url: String
        let queue: AsyncStream<String>
        let continuation: AsyncStream<String>.Continuation
        let state = PeerQueueState()

        init(url: String) {
            self.url = url
            (queue, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(PeerForwarder.queueLimit))
        }
    }

    private let client: HTTPClient
    private let token: String
    private let logger: Logger
    private let metrics: RelayMetrics
    /// How long a graceful shutdown keeps sending queued frames.
    private let drainTimeout: Duration
    /// Whether the peers come from heartbeats (no `--peer` given).
    let discovers: Bool
    private let peers = Mutex<[String: Peer]>([:])
    /// Peers to start draining, for the run loop.
    private let added: AsyncStream<Peer>
    private let adding: AsyncStream<Peer>.Continuation

    /// - Parameter peers: The `--peer` URLs; empty to discover peers through heartbeats.
    init(
        client: HTTPClient, peers: [String], token: String, metrics: RelayMetrics = RelayMetrics(), drainTimeout: Duration = .seconds(5),
        logger: Logger
    ) {
        self.client = client
        self.metrics = metrics
        self.drainTimeout = drainTimeout
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
            for url in gone {
                guard let peer = peers.removeValue(forKey: url) else { continue }
                // Its lease lapsed: what is queued for it is dropped, not sent to a node that is gone.
                peer.state.gone.store(true, ordering: .relaxed)
                peer.continuation.finish()
            }
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
        let size = text.utf8.count
        for peer in current {
            guard peer.state.reserve(size, limit: Self.queueByteLimit) else {
                dropped(1, for: peer, reason: "peer queue full")
                continue
            }
            switch peer.continuation.yield(text) {
            case .enqueued:
                metrics.peerQueued(1)
            case .dropped:
                peer.state.release(size)
                dropped(1, for: peer, reason: "peer queue full")
            default:
                peer.state.release(size)
            }
        }
    }

    /// Counts dropped frames; logs once per peer per ten seconds with the count since the last line.
    private func dropped(_ count: Int, for peer: Peer, reason: String) {
        metrics.peerForwardDrops.increment(by: Int64(count))
        if let total = peer.state.noteDrops(count) {
            logger.warning("forwarded events dropped", metadata: ["usher.peer": "\(peer.url)", "usher.reason": "\(reason)", "usher.dropped": "\(total)"])
        }
    }

    /// Drains every peer's queue in order until graceful shutdown; what is queued then is still sent for at most
    /// `drainTimeout` (a stalled peer takes 5 s per frame), then dropped and counted. A peer dropped meanwhile has its
    /// queue finished and discarded.
    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.drainAll() }
            group.addTask {
                try? await gracefulShutdown()
                self.adding.finish()
                self.peers.withLock { peers in for peer in peers.values { peer.continuation.finish() } }
                try? await Task.sleep(for: self.drainTimeout)
            }
            // The queues were sent, or the deadline came: the other task is no longer needed.
            await group.next()
            group.cancelAll()
        }
        let abandoned = metrics.peerQueueAbandoned()
        if abandoned > 0 {
            metrics.peerForwardDrops.increment(by: abandoned)
            logger.warning("shutdown: forwarded events still queued for peers dropped", metadata: ["usher.dropped": "\(abandoned)"])
        }
    }

    private func drainAll() async {
        await withDiscardingTaskGroup { group in
            for await peer in added {
                group.addTask {
                    for await text in peer.queue {
                        // Past the shutdown deadline: what is left (this frame included) is counted as dropped.
                        if Task.isCancelled { break }
                        peer.state.release(text.utf8.count)
                        if peer.state.gone.load(ordering: .relaxed) {
                            self.metrics.peerSent()
                            self.dropped(1, for: peer, reason: "peer left")
                            continue
                        }
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

/// A peer queue's bytes, whether the peer left, and its drop log's pacing.
final class PeerQueueState: Sendable {
    let gone = Atomic<Bool>(false)
    private let bytes = Atomic<Int>(0)
    private let dropLog = LogPacer()

    /// Counts `size` more bytes queued unless that would pass `limit`.
    func reserve(_ size: Int, limit: Int) -> Bool {
        let total = bytes.add(size, ordering: .relaxed).newValue
        guard total <= limit else {
            bytes.subtract(size, ordering: .relaxed)
            return false
        }
        return true
    }

    func release(_ size: Int) {
        bytes.subtract(size, ordering: .relaxed)
    }

    /// Records `count` drops; returns the drops to log when a line is due (at most one per ten seconds).
    func noteDrops(_ count: Int) -> Int? {
        dropLog.note("", count: count)
    }
}
