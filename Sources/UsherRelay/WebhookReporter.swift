import Logging
import ServiceLifecycle
import Synchronization
import UsherCore
import UsherCrypto

/// Reports what only relays see to Usher, for the apps whose webhooks list it (PUSHER-PROTOCOL.md §9a): the client
/// events this node delivers (`client_event`) and the cache misses it answers (`cache_miss`). Usher logs them and
/// its webhook sender delivers them like every other webhook event.
///
/// Reports are gathered and sent as `POST /relay/v1/nodes/{node}/reports`, at most one request in flight and
/// ``maxBatch`` reports per request, so a chatty room costs Usher a request per batch, not per message. Delivery is
/// best effort: at most ``maxQueued`` wait (later ones are dropped and counted in the log), and a batch Usher fails
/// twice is dropped.
final class WebhookReporter: Service, Sendable {
    static let maxQueued = 10_000
    static let maxBatch = 500

    private struct State {
        var queue: [String] = []
        var dropped = 0
    }

    private let send: @Sendable ([String]) async throws -> Void
    private let features: AppFeatureTable
    private let metrics: RelayMetrics
    private let logger: Logger
    private let state = Mutex(State())
    private let doorbell = Doorbell()

    /// - Parameters:
    ///   - send: Sends one request's reports (JSON texts); in the relay, ``UsherAPI/report(_:)``.
    ///   - features: Which apps want which reports, from Usher's node lease.
    init(features: AppFeatureTable, metrics: RelayMetrics, logger: Logger, send: @escaping @Sendable ([String]) async throws -> Void) {
        self.features = features
        self.metrics = metrics
        self.logger = logger
        self.send = send
    }

    /// A client event this node delivered; `userID` on presence channels.
    func clientEvent(app: String, channel: String, event: String, data: String, socketID: String, userID: String?) {
        guard features[app].reportsClientEvents else { return }
        var report: [String: JSONValue] = [
            "kind": "client_event", "app": .string(app), "channel": .string(channel), "event": .string(event),
            "data": .string(data), "socket_id": .string(socketID),
        ]
        if let userID { report["user_id"] = .string(userID) }
        enqueue(JSONValue.object(report).jsonText)
    }

    /// A subscriber of a cache channel found nothing cached.
    func cacheMiss(app: String, channel: String) {
        guard features[app].reportsCacheMisses else { return }
        enqueue(JSONValue.object(["kind": "cache_miss", "app": .string(app), "channel": .string(channel)]).jsonText)
    }

    private func enqueue(_ report: String) {
        let accepted = state.withLock { state in
            guard state.queue.count < Self.maxQueued else {
                state.dropped += 1
                return false
            }
            state.queue.append(report)
            return true
        }
        if accepted { doorbell.ring() }
    }

    /// Sends what is queued until graceful shutdown, then once more.
    func run() async throws {
        await doorbell.answer { await sendQueued() }
        await sendQueued()
    }

    private func sendQueued() async {
        while true {
            let (batch, dropped) = state.withLock { state in
                let batch = Array(state.queue.prefix(Self.maxBatch))
                state.queue.removeFirst(batch.count)
                defer { state.dropped = 0 }
                return (batch, state.dropped)
            }
            if dropped > 0 {
                metrics.reportsDropped.increment(by: Int64(dropped))
                logger.warning("webhook reports dropped: more than \(Self.maxQueued) waiting", metadata: ["usher.dropped": "\(dropped)"])
            }
            guard !batch.isEmpty else { return }
            do {
                try await send(batch)
            } catch {
                do {
                    try await send(batch)
                } catch {
                    metrics.reportsDropped.increment(by: Int64(batch.count))
                    logger.warning("webhook reports dropped: Usher refused them twice", metadata: ["usher.error": "\(error)", "usher.dropped": "\(batch.count)"])
                }
            }
        }
    }
}
