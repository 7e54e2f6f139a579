import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import UsherCore
import UsherCrypto

/// Delivers one app's webhooks: tails the event log, batches (`batch_ms` or `batch_max`), signs with the app's
/// current secret, and POSTs in order, retrying with exponential backoff and jitter until the batch is older than
/// `retryWindow` (kept under the 300 s that `validate_webhook` accepts).
///
/// The log is the bounded queue: a sender that falls behind it (a receiver down for long) gets a gap, which is
/// counted as overflow and logged, and continues from the newest event.
///
/// With several instances on one store, each app's webhooks are sent by one of them: a sender delivers only while it
/// holds the store's claim for the app (renewed every third of `claimLeaseMillis` together with the position it has
/// delivered through). When an instance dies, another takes the claim once the lease lapses and resumes from that
/// position, so nothing is lost; events delivered after the last recorded position are sent again (at least once).
struct WebhookSender: Sendable {
    let appID: String
    let settings: WebhookSettings
    let store: any PresenceStore
    let registry: AppRegistryBox
    let client: HTTPClient
    let metrics: UsherMetrics
    let logger: Logger
    var retryWindow: Duration = .seconds(290)
    var requestTimeout: Duration = .seconds(10)
    var claimLeaseMillis: Int64 = 10_000
    /// This sender's name in the store's claims.
    let owner = Hex.encode(SecureRandom.bytes(count: 8))

    private var stopping: Bool { Task.isCancelled || Task.isShuttingDownGracefully }

    func run() async {
        while !stopping {
            do {
                if let claim = try await store.claimWebhooks(app: appID, owner: owner, leaseMillis: claimLeaseMillis) {
                    let start: UInt64
                    if let through = claim.deliveredThrough { start = through } else { start = try await store.latestSequence() }
                    await deliverWhileClaimed(from: start)
                    continue
                }
            } catch {
                logger.warning("webhook sender cannot claim its app", metadata: ["usher.app": "\(appID)", "usher.error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Tails the log from `start` and delivers until shutdown or until the claim is lost.
    private func deliverWhileClaimed(from start: UInt64) async {
        var cursor = start
        var pending: [StreamEvent] = []
        var oldest: ContinuousClock.Instant?
        let clock = ContinuousClock()
        var recorded = clock.now
        /// Renews the claim, recording `through` (default: every event before the first pending one is done).
        func record(through: UInt64? = nil) async -> Bool {
            let through = through ?? pending.first.map { $0.sequence - 1 } ?? cursor
            do {
                guard try await store.recordWebhooks(app: appID, owner: owner, deliveredThrough: through, leaseMillis: claimLeaseMillis) else {
                    logger.warning("webhook claim taken over by another instance", metadata: ["usher.app": "\(appID)"])
                    return false
                }
                recorded = clock.now
                return true
            } catch {
                // Unrenewed, the claim may lapse and pass to another instance: stop and claim again from the store.
                logger.warning("webhook sender cannot renew its claim", metadata: ["usher.app": "\(appID)", "usher.error": "\(error)"])
                return false
            }
        }
        while !stopping {
            if clock.now - recorded >= .milliseconds(claimLeaseMillis / 3), await !record() { return }
            do {
                switch try await store.events(after: cursor, limit: 512) {
                case .gap(let latest):
                    // Skip only what the log no longer holds; events still retained are delivered.
                    let oldest = try await store.oldestRetainedSequence()
                    let resume = oldest > cursor + 1 && oldest - 1 <= latest ? oldest - 1 : latest
                    metrics.webhookOverflow(app: appID, events: Int(resume - cursor))
                    logger.warning("webhook sender fell behind the event log; events skipped", metadata: ["usher.app": "\(appID)"])
                    cursor = resume
                case .events(let events):
                    for event in events {
                        cursor = event.sequence
                        // Server-to-user channels are sign-in machinery (online status), not the app's channels.
                        guard event.app == appID, settings.events.contains(event.kind), !(event.channel?.hasPrefix("#") ?? false)
                        else { continue }
                        pending.append(event)
                        if oldest == nil { oldest = clock.now }
                    }
                }
                let due = oldest.map { clock.now - $0 >= .milliseconds(settings.batchMillis) } ?? false
                if pending.count >= settings.batchMax || (due && !pending.isEmpty) {
                    let batch = Array(pending.prefix(settings.batchMax))
                    pending.removeFirst(batch.count)
                    oldest = pending.isEmpty ? nil : clock.now
                    // Retries renew the claim, so a long receiver outage does not hand the batch to a second sender.
                    let claimed = await deliver(batch) { await record(through: batch[0].sequence - 1) }
                    if !claimed { return }
                    if await !record() { return }
                } else {
                    let remaining = oldest.map { .milliseconds(settings.batchMillis) - (clock.now - $0) } ?? .seconds(1)
                    try await store.waitForEvents(after: cursor, timeout: max(.milliseconds(1), min(remaining, .seconds(1))))
                }
            } catch {
                logger.warning("webhook sender cannot read events", metadata: ["usher.error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
        // Graceful shutdown: one attempt for what is already batched.
        while !pending.isEmpty {
            let batch = Array(pending.prefix(settings.batchMax))
            pending.removeFirst(batch.count)
            await deliver(batch, attempts: 1)
        }
        _ = await record()
    }

    /// Sends one batch until it succeeds, its retry window closes, or (`attempts`) runs out; `false` when
    /// `stillClaimed` (asked before each retry) says another instance now owns the app's webhooks.
    @discardableResult
    func deliver(_ events: [StreamEvent], attempts: Int = .max, stillClaimed: () async -> Bool = { true }) async -> Bool {
        let body = WebhookBody.make(events, timeMillis: Int64(Date().timeIntervalSince1970 * 1000))
        let started = ContinuousClock.now
        var attempt = 0
        while true {
            attempt += 1
            if await send(body) {
                metrics.webhook(app: appID, result: "delivered", events: events.count)
                return true
            }
            // Exponential backoff with ±50% jitter, capped at 30 s, never past the window.
            let base = min(30.0, 0.5 * pow(2.0, Double(attempt - 1)))
            let delay = Duration.milliseconds(Int64(base * Double.random(in: 0.5...1.5) * 1000))
            guard attempt < attempts, !stopping, ContinuousClock.now - started + delay < retryWindow else {
                metrics.webhook(app: appID, result: "dropped", events: events.count)
                // The host only: webhook URLs often carry credentials in userinfo or the query.
                let host = URL(string: settings.url)?.host ?? "?"
                logger.error("webhook batch dropped after \(attempt) attempts", metadata: ["usher.app": "\(appID)", "usher.host": "\(host)"])
                return true
            }
            metrics.webhook(app: appID, result: "retried", events: events.count)
            try? await Task.sleep(for: delay)
            guard await stillClaimed() else { return false }
        }
    }

    private func send(_ body: String) async -> Bool {
        guard let app = try? registry.current.select(key: nil, id: appID), let secret = app.app.signingSecret(at: Date()) else {
            return false
        }
        var request = HTTPClientRequest(url: settings.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Pusher-Key", value: app.app.key)
        request.headers.add(name: "X-Pusher-Signature", value: secret.hmacKey.hexMAC(body))
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(requestTimeout.components.seconds * 1_000_000_000))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return (200..<300).contains(response.status.code)
        } catch {
            logger.info("webhook request failed", metadata: ["usher.app": "\(appID)", "usher.error": "\(error)"])
            return false
        }
    }
}
