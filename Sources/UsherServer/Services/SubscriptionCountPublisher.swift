import Logging
import ServiceLifecycle
import UsherCore
import UsherStore

/// Publishes the subscription counts of the apps that asked for them (`subscription_count: true`): every tick it
/// takes the channels whose count this instance's writes changed and logs a `subscription_count` event for each one
/// its throttle lets through. Relays turn the events into `pusher_internal:subscription_count` for the channel's
/// subscribers; webhooks carry them when the app lists `subscription_count`.
///
/// The counts ride on the event stream relays already follow, so they cost no relay call per subscription. With
/// several instances each publishes the channels its own writes changed, with the deployment-wide count, so a
/// channel changed through two instances may see one event per instance per interval.
struct SubscriptionCountPublisher: Service {
    let store: any PresenceStore
    /// Apps with `subscription_count: true`.
    let apps: Set<String>
    let interval: Duration
    let tick: Duration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var throttle = CountThrottle(intervalMillis: interval.milliseconds)
            var failing = false
            while !Task.isCancelled {
                try await Task.sleep(for: tick)
                // Taken every tick even when no app publishes, so the stores' change sets stay small.
                let changes = await store.takeCountChanges()
                let due = throttle.due(changes.filter { apps.contains($0.app) }, now: MonotonicClock.milliseconds())
                guard !due.isEmpty else { continue }
                do {
                    try await store.appendSubscriptionCounts(due)
                    failing = false
                } catch {
                    throttle.retry(due)
                    if !failing { logger.warning("subscription counts not published", metadata: ["usher.error": "\(error)"]) }
                    failing = true
                }
            }
        }
    }
}

/// Which changed channels may publish their count now: a channel's first change at once, later ones at most once
/// per interval (the last change in an interval is published when it ends, so the final count is never lost).
struct CountThrottle {
    let intervalMillis: Int64
    private var lastSent: [AppChannel: Int64] = [:]
    private var pending: Set<AppChannel> = []

    init(intervalMillis: Int64) {
        self.intervalMillis = intervalMillis
    }

    /// Adds `changed` to what waits, and returns (and marks sent at `now`) the channels whose interval has passed,
    /// in app then channel order.
    mutating func due(_ changed: some Sequence<AppChannel>, now: Int64) -> [AppChannel] {
        pending.formUnion(changed)
        guard !pending.isEmpty || !lastSent.isEmpty else { return [] }
        // Channels quiet for a whole interval are free to send at once again.
        lastSent = lastSent.filter { now - $0.value < intervalMillis }
        let due = pending.filter { lastSent[$0] == nil }.sorted { ($0.app, $0.channel) < ($1.app, $1.channel) }
        for channel in due {
            pending.remove(channel)
            lastSent[channel] = now
        }
        return due
    }

    /// Puts channels whose publication failed back, to go at the next tick.
    mutating func retry(_ channels: [AppChannel]) {
        for channel in channels {
            lastSent[channel] = nil
            pending.insert(channel)
        }
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
