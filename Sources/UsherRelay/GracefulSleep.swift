import ServiceLifecycle

/// Sleeps for `duration`, returning early (by throwing) when the task is cancelled or graceful shutdown starts.
func gracefulSleep(_ duration: Duration) async throws {
    try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
}
