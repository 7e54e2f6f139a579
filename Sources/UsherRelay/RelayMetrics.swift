import Hummingbird
import Prometheus
import Synchronization
import UsherCore

/// The relay's Prometheus metrics (`GET /metrics`), in a registry owned by the relay, as Usher's are: connections and
/// subscriptions (read from the hub at scrape time), messages in and out, refusals, slow-client closes, calls to
/// Usher (latency, failures, batch sizes), the event stream, peer forwarding and webhook reports.
final class RelayMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let connections: Gauge
    /// `messages_in_total` by kind, made once: a client message must not cost a registry lookup.
    private let messagesIn: [String: Counter]
    private let messagesOut: Counter
    let clientEventsRefused: Counter
    let slowClientCloses: Counter
    let usherCallFailures: Counter
    private let usherCallSeconds: DurationHistogram
    private let batchOps: ValueHistogram
    let eventStreamReconnects: Counter
    let eventStreamResets: Counter
    private let eventStreamEvents: Counter
    let peerForwardDrops: Counter
    let peerForwardFailures: Counter
    private let peerQueueDepth: Gauge
    let reportsDropped: Counter
    /// `connections_failed_total` by reason, made once.
    private let connectionsFailed: [String: Counter]
    /// Frames queued for peers and not yet sent, across peers.
    private let queued = Atomic<Int64>(0)

    init() {
        connections = registry.makeGauge(descriptor: Self.name("connections", "", "Open client connections"))
        let messagesInName = Self.name("messages_in", "total", "Client messages by kind")
        var messagesIn: [String: Counter] = [:]
        for kind in Self.messageKinds { messagesIn[kind] = registry.makeCounter(descriptor: messagesInName, labels: [("kind", kind)]) }
        self.messagesIn = messagesIn
        messagesOut = registry.makeCounter(descriptor: Self.name("messages_out", "total", "Frames written to clients"))
        clientEventsRefused = registry.makeCounter(
            descriptor: Self.name("client_events_refused", "total", "Client events refused with 4301 (rate, size, channel)"))
        slowClientCloses = registry.makeCounter(
            descriptor: Self.name("slow_client_closes", "total", "Clients closed with 4100 because their outbox overflowed"))
        usherCallFailures = registry.makeCounter(
            descriptor: Self.name("usher_call_failures", "total", "Calls to Usher that failed or answered a 5xx"))
        usherCallSeconds = registry.makeDurationHistogram(
            descriptor: Self.name("usher_call", "seconds", "Latency of calls to Usher's relay API"),
            buckets: [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)])
        batchOps = registry.makeValueHistogram(
            descriptor: Self.name("usher_batch_ops", "", "Ops per batch sent to Usher"), buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000])
        eventStreamReconnects = registry.makeCounter(
            descriptor: Self.name("event_stream_reconnects", "total", "Times Usher's event stream was (re)opened"))
        eventStreamResets = registry.makeCounter(
            descriptor: Self.name("event_stream_resets", "total", "Resets from Usher's event stream (events were lost)"))
        eventStreamEvents = registry.makeCounter(descriptor: Self.name("event_stream_events", "total", "Events read from Usher's stream"))
        peerForwardDrops = registry.makeCounter(
            descriptor: Self.name("peer_forward_drops", "total", "Frames dropped because a peer's queue was full"))
        peerForwardFailures = registry.makeCounter(
            descriptor: Self.name("peer_forward_failures", "total", "Forwards a peer refused or did not answer"))
        peerQueueDepth = registry.makeGauge(descriptor: Self.name("peer_queue_depth", "", "Frames queued for peers, all peers"))
        reportsDropped = registry.makeCounter(
            descriptor: Self.name("webhook_reports_dropped", "total", "Client-event and cache-miss reports dropped"))
        let failedName = Self.name(
            "connections_failed", "total", "Connections closed for a late request head or body, a protocol violation, their address's rate, the app's quota")
        var failed: [String: Counter] = [:]
        for reason in Self.failureReasons { failed[reason] = registry.makeCounter(descriptor: failedName, labels: [("reason", reason)]) }
        connectionsFailed = failed
    }

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "usher_relay", metricName: metric, unitName: unit, helpText: help)
    }

    /// The kinds `messages_in_total` counts (``RelaySession/metricKind(_:)`` answers one of them).
    static let messageKinds = ["ping", "pong", "subscribe", "unsubscribe", "signin", "client_event", "other"]

    /// The reasons `connections_failed_total` counts.
    static let failureReasons = ["handshake_timeout", "body_timeout", "unmasked_frame", "rate_limited", "over_quota"]

    /// Counts a connection closed for `reason` (one of ``failureReasons``).
    func connectionFailed(_ reason: String) {
        connectionsFailed[reason]?.increment()
    }

    /// Counts one client message by its kind (`subscribe`, `client_event`, …).
    func messageIn(kind: String) {
        messagesIn[kind]?.increment()
    }

    func messageOut() {
        messagesOut.increment()
    }

    func eventStreamEvent() {
        eventStreamEvents.increment()
    }

    /// Times one call to Usher; a thrown error or a 5xx counts as a failure.
    func usherCall<T>(_ body: () async throws -> (Int, T)) async throws -> (Int, T) {
        let start = ContinuousClock.now
        do {
            let result = try await body()
            usherCallSeconds.record(ContinuousClock.now - start)
            if result.0 >= 500 { usherCallFailures.increment() }
            return result
        } catch {
            usherCallSeconds.record(ContinuousClock.now - start)
            usherCallFailures.increment()
            throw error
        }
    }

    func batch(ops: Int) {
        batchOps.record(Double(ops))
    }

    func peerQueued(_ count: Int) {
        queued.add(Int64(count), ordering: .relaxed)
    }

    func peerSent() {
        queued.subtract(1, ordering: .relaxed)
    }

    /// Takes the frames still queued for peers as abandoned (at shutdown): returns their number, and the depth is 0.
    func peerQueueAbandoned() -> Int64 {
        queued.exchange(0, ordering: .relaxed)
    }

    /// The text exposition, with the gauges read from `hub` first.
    func exposition(hub: ConnectionHub) -> String {
        connections.set(Int64(hub.connectionCount))
        for (kind, count) in hub.subscriptionsByKind() {
            registry.makeGauge(descriptor: Self.name("subscriptions", "", "Subscriptions by channel kind"), labels: [("kind", kind)])
                .set(Int64(count))
        }
        peerQueueDepth.set(queued.load(ordering: .relaxed))
        return registry.emitToString()
    }
}
