import Prometheus
import Synchronization
import UsherCore

/// Usher's Prometheus metrics, in a registry owned by the application (not the process-global `MetricsSystem`),
/// so several applications — as in tests — never share or clash over counters.
final class UsherMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let sseConsumers: Gauge
    let sseLag: Gauge
    let sseResets: Counter
    private let members: Gauge
    private let channels: Gauge
    private let sockets: Gauge
    private let nodes: Gauge
    private let leaseExpiries: Counter
    /// Connections answered 408 and closed because a request body arrived too slowly.
    let bodyTimeouts: Counter
    /// Store totals already added to the counters, so each scrape adds only what is new.
    private let reported = Mutex<(leaseExpiries: Int, events: [StreamEvent.Kind: Int])>((0, [:]))

    init() {
        sseConsumers = registry.makeGauge(descriptor: Self.name("sse_consumers", "", "Open relay event streams"))
        sseLag = registry.makeGauge(descriptor: Self.name("sse_lag", "events", "Events between a stream's last write and the log head"))
        sseResets = registry.makeCounter(descriptor: Self.name("sse_resets", "total", "Streams told to reset (resumed too far back)"))
        members = registry.makeGauge(descriptor: Self.name("presence_members", "", "Presence members (distinct users per channel)"))
        channels = registry.makeGauge(descriptor: Self.name("presence_channels", "", "Occupied channels"))
        sockets = registry.makeGauge(descriptor: Self.name("presence_sockets", "", "Subscribed sockets"))
        nodes = registry.makeGauge(descriptor: Self.name("relay_nodes", "", "Relay nodes holding a lease"))
        leaseExpiries = registry.makeCounter(descriptor: Self.name("lease_expiries", "total", "Relay node leases that lapsed"))
        bodyTimeouts = registry.makeCounter(
            descriptor: Self.name("http_body_timeouts", "total", "Connections closed because a request body arrived too slowly"))
    }

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "usher", metricName: metric, unitName: unit, helpText: help)
    }

    /// Counts one HTTP response by route pattern and status.
    func request(route: String, status: Int) {
        requestCounter(route: route, status: status).increment()
    }

    /// The counter behind `request(route:status:)`; the registry looks it up by its labels on every call, so a hot
    /// path keeps the one it uses.
    func requestCounter(route: String, status: Int) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("http_requests", "total", "HTTP responses by route and status"),
            labels: [("route", route), ("status", String(status))]
        )
    }

    /// Refreshes the presence gauges (at scrape time).
    func update(_ statistics: StoreStatistics) {
        members.set(Int64(statistics.presence.members))
        channels.set(Int64(statistics.presence.channels))
        sockets.set(Int64(statistics.presence.sockets))
        nodes.set(Int64(statistics.presence.nodes))
        // The store keeps running totals; the counters get the growth since the previous scrape.
        let (expiries, events) = reported.withLock { reported in
            let expiries = statistics.leaseExpiries - reported.leaseExpiries
            var events: [(StreamEvent.Kind, Int)] = []
            for (kind, count) in statistics.eventsByKind where count > reported.events[kind, default: 0] {
                events.append((kind, count - reported.events[kind, default: 0]))
            }
            reported = (statistics.leaseExpiries, statistics.eventsByKind)
            return (expiries, events)
        }
        if expiries > 0 { leaseExpiries.increment(by: Int64(expiries)) }
        for (kind, count) in events {
            registry.makeCounter(
                descriptor: Self.name("events_logged", "total", "Events appended to the log, by kind"), labels: [("kind", kind.rawValue)]
            ).increment(by: Int64(count))
        }
    }

    /// Counts webhook batches and their events by outcome (`delivered`, `retried`, `dropped`).
    func webhook(app: String, result: String, events: Int) {
        registry.makeCounter(
            descriptor: Self.name("webhook_batches", "total", "Webhook requests by app and outcome"), labels: [("app", app), ("result", result)]
        ).increment()
        registry.makeCounter(
            descriptor: Self.name("webhook_events", "total", "Webhook events by app and outcome"), labels: [("app", app), ("result", result)]
        ).increment(by: Int64(events))
    }

    /// Counts events a webhook sender skipped because it fell behind the bounded log.
    func webhookOverflow(app: String, events: Int) {
        registry.makeCounter(
            descriptor: Self.name("webhook_overflow_events", "total", "Events skipped by webhooks that fell behind the log"),
            labels: [("app", app)]
        ).increment(by: Int64(events))
    }

    func exposition() -> String { registry.emitToString() }
}
