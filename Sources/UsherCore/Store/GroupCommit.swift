import Synchronization

/// Group commit: whatever is submitted while the previous group is being applied is applied next, as one unit.
///
/// Callers submit their writes (a single call's one write, or a batch's many) and wait for their own results. When
/// nothing is being applied, a submission starts a group at once; otherwise it joins the next group, which starts
/// when the current one is done. A group never splits a submission and keeps submissions in arrival order, so its
/// writes are applied exactly as if each submission had been applied alone, one after another.
///
/// ```swift
/// let commit = GroupCommit<PresenceWrite, PresenceWriteResult>(maxWrites: 4096)
/// let results = try await commit.submit(writes) { group in try await store.applyGroup(group) }
/// ```
public final class GroupCommit<Write: Sendable, Result: Sendable>: Sendable {
    public typealias Apply = @Sendable ([Write]) async throws -> [Result]

    private struct Submission {
        let writes: [Write]
        let continuation: CheckedContinuation<[Result], any Error>
    }

    private struct State {
        var pending: [Submission] = []
        var pendingWrites = 0
        var applying = false
    }

    private let state = Mutex(State())
    /// A group stops taking submissions once it holds this many writes (one submission may exceed it alone).
    public let maxWrites: Int

    public init(maxWrites: Int = 4096) {
        self.maxWrites = maxWrites
    }

    /// Applies `writes` in the next group and returns their results, in order.
    ///
    /// - Parameter apply: Applies one group: must return exactly one result per write, in order. Every submitter
    ///   passes the same function; the one that finds the committer idle runs it for everyone until the queue is empty.
    /// - Throws: What `apply` threw for the group this submission was in (the whole group failed).
    public func submit(_ writes: [Write], apply: @escaping Apply) async throws -> [Result] {
        if writes.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state in
                state.pending.append(Submission(writes: writes, continuation: continuation))
                state.pendingWrites += writes.count
                defer { state.applying = true }
                return !state.applying
            }
            if start { Task { await self.drain(apply) } }
        }
    }

    /// Writes waiting for the next group (for metrics and tests).
    public var queuedWrites: Int { state.withLock { $0.pendingWrites } }

    private func drain(_ apply: Apply) async {
        while let group = nextGroup() {
            let writes = group.count == 1 ? group[0].writes : group.flatMap(\.writes)
            do {
                let results = try await apply(writes)
                precondition(results.count == writes.count, "a group's apply must answer every write")
                var start = 0
                for submission in group {
                    let end = start + submission.writes.count
                    submission.continuation.resume(returning: Array(results[start..<end]))
                    start = end
                }
            } catch {
                for submission in group { submission.continuation.resume(throwing: error) }
            }
        }
    }

    /// Takes the submissions of the next group, or marks the committer idle when none wait.
    private func nextGroup() -> [Submission]? {
        state.withLock { state in
            guard !state.pending.isEmpty else {
                state.applying = false
                return nil
            }
            var taken = 0
            var writes = 0
            while taken < state.pending.count, taken == 0 || writes + state.pending[taken].writes.count <= maxWrites {
                writes += state.pending[taken].writes.count
                taken += 1
            }
            let group = Array(state.pending[..<taken])
            state.pending.removeFirst(taken)
            state.pendingWrites -= writes
            return group
        }
    }
}
