/// Keeps node snapshots and subscription changes apart: a snapshot replaces everything Usher holds for the node, so
/// one taken while a subscription is between Usher's answer and the hub would silently drop it, and one taken before
/// an unsubscribe or disconnect left the hub but sent after its DELETE would add the socket back in Usher.
///
/// Changes (subscribe, sign-in, unsubscribe, disconnect: hub update plus Usher call) pass freely alongside each
/// other; a resync waits for those in flight and holds new ones back.
actor ResyncGate {
    private var inFlight = 0
    private var resyncing = false
    private var waitingSubscribers: [CheckedContinuation<Void, Never>] = []
    private var waitingResync: CheckedContinuation<Void, Never>?

    /// Runs one subscription change (Usher call plus hub update), after any running resync.
    func change<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
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

    /// Runs a resync once no change is in flight; new changes wait until it ends.
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
