import AsyncHTTPClient
import Logging
import ServiceLifecycle
import UsherCore

/// Runs one ``WebhookSender`` per app with webhooks, sharing one HTTP client, until graceful shutdown.
struct WebhookService: Service {
    let senders: [WebhookSender]
    let client: HTTPClient

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for sender in senders { group.addTask { await sender.run() } }
        }
        try await client.shutdown()
    }
}
