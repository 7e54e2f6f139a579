import Logging
import ServiceLifecycle
import UsherCore

/// Drives time in the presence registry: fires leave-grace expiries and node lease expiries.
struct PresenceTicker: Service {
    let store: any PresenceStore
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var failing = false
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                do {
                    try await store.advance()
                    if failing { logger.info("presence ticks resumed") }
                    failing = false
                } catch {
                    // Once per outage, not every tick: a database restart would otherwise flood the log.
                    if !failing { logger.warning("presence tick failed", metadata: ["usher.error": "\(error)"]) }
                    failing = true
                }
            }
        }
    }
}
