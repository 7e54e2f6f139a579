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
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                do {
                    try await store.advance()
                } catch {
                    logger.warning("presence tick failed", metadata: ["usher.error": "\(error)"])
                }
            }
        }
    }
}
