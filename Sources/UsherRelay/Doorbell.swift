import ServiceLifecycle

/// Wakes a service's run loop when work is queued: rings while the loop works coalesce into one, and the loop ends
/// at graceful shutdown (shared by the call batcher and the webhook reporter).
struct Doorbell: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func ring() {
        continuation.yield()
    }

    /// Runs `work` after each ring until graceful shutdown (or cancellation).
    func answer(_ work: () async -> Void) async {
        await withDiscardingTaskGroup { group in
            group.addTask { [continuation] in
                try? await gracefulShutdown()
                continuation.finish()
            }
            for await _ in stream { await work() }
            group.cancelAll()
        }
    }
}
