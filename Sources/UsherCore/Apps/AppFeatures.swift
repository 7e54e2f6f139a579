public import UsherCrypto

/// What relays enforce per app. Usher's configuration decides it (usher.yaml) and sends it with every node lease
/// (relay API: `"apps":{"<id>":{…}}` in the heartbeat and snapshot answers), so one file configures the deployment
/// and a relay picks up a change at its next heartbeat.
public struct AppFeatures: Sendable, Hashable {
    /// Pusher's limit for client events: 10 per second per connection.
    public static let defaultClientEventsPerSecond = 10

    /// Client events one connection may send per second; the excess gets `pusher:error` 4301 and is not delivered.
    public var clientEventsPerSecond: Int
    /// The most user ids a signed-in connection may watch for online status (`user_data.watchlist`); 0 when the
    /// app has no watchlist. More gets `pusher:error` 4302.
    public var watchlistMaxIDs: Int
    /// Whether the app's webhooks list `client_event`: relays then report the client events they deliver.
    public var reportsClientEvents: Bool
    /// Whether the app's webhooks list `cache_miss`: relays then report cache misses.
    public var reportsCacheMisses: Bool
    /// The most client connections the app may have open across the deployment; 0 for no limit. A connection over
    /// it gets `pusher:error` 4004 ("Over connection quota") and is closed with 4004.
    public var maxConnections: Int

    public init(
        clientEventsPerSecond: Int = defaultClientEventsPerSecond, watchlistMaxIDs: Int = 0, reportsClientEvents: Bool = false,
        reportsCacheMisses: Bool = false, maxConnections: Int = 0
    ) {
        self.maxConnections = maxConnections
        self.clientEventsPerSecond = clientEventsPerSecond
        self.watchlistMaxIDs = watchlistMaxIDs
        self.reportsClientEvents = reportsClientEvents
        self.reportsCacheMisses = reportsCacheMisses
    }

    /// As the lease carries it.
    public var json: JSONValue {
        .object([
            "client_events_per_second": .integer(Int64(clientEventsPerSecond)),
            "watchlist_max_ids": .integer(Int64(watchlistMaxIDs)),
            "client_event_webhooks": .bool(reportsClientEvents),
            "cache_miss_webhooks": .bool(reportsCacheMisses),
            "max_connections": .integer(Int64(maxConnections)),
        ])
    }

    /// Reads what a lease carries; a missing or unusable field keeps its default (an older Usher sends none).
    public init(json: JSONValue?) {
        self.init()
        if case .integer(let rate)? = json?["client_events_per_second"], (1...1000).contains(rate) { clientEventsPerSecond = Int(rate) }
        if case .integer(let ids)? = json?["watchlist_max_ids"], (0...1000).contains(ids) { watchlistMaxIDs = Int(ids) }
        if case .bool(let flag)? = json?["client_event_webhooks"] { reportsClientEvents = flag }
        if case .bool(let flag)? = json?["cache_miss_webhooks"] { reportsCacheMisses = flag }
        if case .integer(let limit)? = json?["max_connections"], limit >= 0 { maxConnections = Int(min(limit, Int64(Int32.max))) }
    }
}
