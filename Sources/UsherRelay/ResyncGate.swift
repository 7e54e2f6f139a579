/// Keeps node snapshots and subscriptions apart: a snapshot replaces everything Usher holds for the node, so one
/// taken while a subscription is between Usher's answer and the hub would silently drop it.
///
/// Subscriptions pass freely alongside each other; a resync waits for those in flight and holds new ones back.
actor ResyncGate {
    private var inFlight = 0
    private var resyncing = false
    private var waitingSubscribers: [CheckedContinuation<Void, Never>] = []
    private var waitingResync: CheckedContinuation<Void, Never>?

    /// Runs one subscription (Usher call plus hub update), after any running resync.
    func subscription<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        while resyncing { await withCheckedContinuation { waitingSubscribers.append($0) } }
        inFlight += 1
        defer {
            inFlight -= 1
            if inFlight == 0, let resync = waitingResync {
                waitingResync = nil
                resync.resume()
            }
        }
        return await body()
    }

    /// Runs a resync once no subscription is in flight; new subscriptions wait until it ends.
    func resync<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        while resyncing { await withCheckedContinuation { waitingSubscribers.append($0) } }
        resyncing = true
        defer {
            resyncing = false
            let waiting = waitingSubscribers
            waitingSubscribers = []
            for continuation in waiting { continuation.resume() }
        }
        if inFlight > 0 { await withCheckedContinuation { waitingResync = $0 } }
        return try await body()
    }
}
