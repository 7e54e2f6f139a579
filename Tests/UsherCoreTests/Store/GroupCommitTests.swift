import Synchronization
import Testing
import UsherCore

/// `GroupCommit`: submissions that arrive while a group is applied go together in the next one, each submitter gets
/// exactly its own results, and a failed group fails only its own submitters.
@Suite struct GroupCommitTests {
    /// Records every group it is asked to apply; answers each write with its value times ten.
    final class Recorder: Sendable {
        let groups = Mutex<[[Int]]>([])
        let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let failOn: Int?

        init(failOn: Int? = nil) {
            self.failOn = failOn
        }

        func apply(_ writes: [Int]) async throws -> [Int] {
            groups.withLock { $0.append(writes) }
            if writes.contains(0) {
                // The first group waits until the test has queued everything else behind it.
                await withCheckedContinuation { continuation in gate.withLock { $0 = continuation } }
            }
            if let failOn, writes.contains(failOn) { throw CancellationError() }
            return writes.map { $0 * 10 }
        }

        func release() {
            gate.withLock { $0?.resume(); $0 = nil }
        }

        var isHolding: Bool { gate.withLock { $0 != nil } }
    }

    /// Submission `n`'s writes: one to three values from `n * 100`.
    static func writes(_ submission: Int) -> [Int] {
        submission == 0 ? [0] : Array(submission * 100..<submission * 100 + submission % 3 + 1)
    }

    @Test("submissions queued behind a running group are applied together, in arrival order, each answered its own")
    func groupsWhatArrivesMeanwhile() async throws {
        let commit = GroupCommit<Int, Int>()
        let recorder = Recorder()
        try await withThrowingTaskGroup(of: (Int, [Int]).self) { tasks in
            tasks.addTask { (0, try await commit.submit([0], apply: recorder.apply)) }
            while !recorder.isHolding { await Task.yield() }
            var queued = 0
            for submission in 1...20 {
                let writes = Self.writes(submission)
                queued += writes.count
                tasks.addTask { (submission, try await commit.submit(writes, apply: recorder.apply)) }
                while commit.queuedWrites < queued { await Task.yield() }
            }
            recorder.release()
            for try await (submission, results) in tasks {
                #expect(results == Self.writes(submission).map { $0 * 10 })
            }
        }
        let groups = recorder.groups.withLock { $0 }
        let expected: [Int] = (1...20).flatMap { Self.writes($0) }
        #expect(groups.count == 2, "\(groups)")
        #expect(groups.last == expected)
    }

    @Test("a group that fails fails its own submitters only; the next group still runs")
    func failureStaysInItsGroup() async throws {
        let commit = GroupCommit<Int, Int>(maxWrites: 2)
        let recorder = Recorder(failOn: 7)
        var outcomes: [Int: Bool] = [:]
        await withTaskGroup(of: (Int, Bool).self) { tasks in
            tasks.addTask { (0, (try? await commit.submit([0], apply: recorder.apply)) != nil) }
            while !recorder.isHolding { await Task.yield() }
            for (index, value) in [7, 8, 9, 10].enumerated() {
                tasks.addTask { (value, (try? await commit.submit([value], apply: recorder.apply)) != nil) }
                while commit.queuedWrites < index + 1 { await Task.yield() }
            }
            recorder.release()
            for await (value, ok) in tasks { outcomes[value] = ok }
        }
        // maxWrites 2: [7, 8] fail together, [9, 10] succeed.
        #expect(outcomes == [0: true, 7: false, 8: false, 9: true, 10: true])
        #expect(recorder.groups.withLock { $0 } == [[0], [7, 8], [9, 10]])
    }

    @Test("concurrent submitters each get exactly their own results")
    func manySubmitters() async throws {
        let commit = GroupCommit<Int, Int>()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for value in 1...500 {
                tasks.addTask {
                    let results = try await commit.submit([value, -value]) { writes in
                        await Task.yield()
                        return writes.map { $0 * 10 }
                    }
                    #expect(results == [value * 10, -value * 10])
                }
            }
            try await tasks.waitForAll()
        }
    }
}
