import Synchronization
import Testing
import UsherCrypto
@testable import UsherRelay

/// The batcher against a stand-in for Usher's batch endpoint, without I/O.
@Suite struct CallBatcherTests {
    @Test("a lone op leaves at once, as a batch of one")
    func lone() async throws {
        let endpoint = BatchEndpoint()
        try await endpoint.withBatcher { batcher in
            let reply = try await batcher.submit("a")
            #expect(reply.body == .string("a"))
        }
        #expect(endpoint.batches == [["a"]])
    }

    @Test("ops submitted while a batch is in flight leave together when it returns, in the order submitted, each with its own reply")
    func gathered() async throws {
        let endpoint = BatchEndpoint(holding: true)
        try await endpoint.withBatcher { batcher in
            try await withThrowingTaskGroup(of: (String, UsherAPI.Reply).self) { group in
                // A failed wait must fail the test, not leave the group waiting for held batches forever.
                defer { endpoint.release(batches: 10_000) }
                for (index, op) in ["first", "b", "c", "d", "e"].enumerated() {
                    group.addTask { (op, try await batcher.submit(op)) }
                    // One at a time, so the submission order is known: the first is in flight, the others queue.
                    try await waitUntil { index == 0 ? endpoint.batches.count == 1 : batcher.queuedCount == index }
                }
                endpoint.release(batches: 2)
                for try await (op, reply) in group { #expect(reply.body == .string(op)) }
            }
        }
        #expect(endpoint.batches == [["first"], ["b", "c", "d", "e"]])
    }

    @Test("a batch carries at most 1,000 ops; the rest follow in the next ones")
    func fullByCount() async throws {
        let endpoint = BatchEndpoint(holding: true)
        try await endpoint.withBatcher { batcher in
            try await withThrowingTaskGroup(of: Void.self) { group in
                // A failed wait must fail the test, not leave the group waiting for held batches forever.
                defer { endpoint.release(batches: 10_000) }
                group.addTask { _ = try await batcher.submit("first") }
                try await waitUntil { endpoint.batches.count == 1 }
                for index in 0..<2500 { group.addTask { _ = try await batcher.submit("op\(index)") } }
                try await waitUntil { batcher.queuedCount == 2500 }
                endpoint.release(batches: 4)
                try await group.waitForAll()
            }
        }
        #expect(endpoint.batches.map(\.count) == [1, 1000, 1000, 500])
    }

    @Test("a batch body stays within 1 MiB; a batch always takes at least one op")
    func fullByBytes() async throws {
        let endpoint = BatchEndpoint(holding: true)
        let big = String(repeating: "x", count: 300_000)
        try await endpoint.withBatcher { batcher in
            try await withThrowingTaskGroup(of: Void.self) { group in
                // A failed wait must fail the test, not leave the group waiting for held batches forever.
                defer { endpoint.release(batches: 10_000) }
                group.addTask { _ = try await batcher.submit(String(repeating: "y", count: CallBatcher.maxBodyBytes)) }
                try await waitUntil { endpoint.batches.count == 1 }
                for _ in 0..<5 { group.addTask { _ = try await batcher.submit(big) } }
                try await waitUntil { batcher.queuedCount == 5 }
                endpoint.release(batches: 3)
                try await group.waitForAll()
            }
        }
        #expect(endpoint.batches.map(\.count) == [1, 3, 2])
        for batch in endpoint.batches.dropFirst() {
            #expect(#"{"ops":["#.utf8.count + batch.joined(separator: ",").utf8.count + "]}".utf8.count <= CallBatcher.maxBodyBytes)
        }
    }

    @Test("a failed batch request fails each of its ops with the request's error; the next batch goes on")
    func failedBatch() async throws {
        let endpoint = BatchEndpoint(holding: true, failing: [1])
        try await endpoint.withBatcher { batcher in
            try await withThrowingTaskGroup(of: (String, Result<UsherAPI.Reply, any Error>).self) { group in
                // A failed wait must fail the test, not leave the group waiting for held batches forever.
                defer { endpoint.release(batches: 10_000) }
                for (index, op) in ["first", "lost-1", "lost-2"].enumerated() {
                    group.addTask {
                        do { return (op, .success(try await batcher.submit(op))) } catch { return (op, .failure(error)) }
                    }
                    try await waitUntil { index == 0 ? endpoint.batches.count == 1 : batcher.queuedCount == index }
                }
                endpoint.release(batches: 3)
                for try await (op, result) in group {
                    switch result {
                    case .success(let reply): #expect(op == "first" && reply.body == .string(op))
                    case .failure(let error): #expect(op.hasPrefix("lost") && error as? RelayError == BatchEndpoint.failure)
                    }
                }
            }
            #expect(try await batcher.submit("later").body == .string("later"))
        }
        #expect(endpoint.batches == [["first"], ["lost-1", "lost-2"], ["later"]])
    }

    @Test("when the batcher stops, ops already queued are still sent and later ones fail at once")
    func stopping() async throws {
        let endpoint = BatchEndpoint(holding: true)
        let batcher = CallBatcher(send: endpoint.send)
        let running = Task { try await batcher.run() }
        async let first = batcher.submit("first")
        try await waitUntil { endpoint.batches.count == 1 }
        async let queued = batcher.submit("queued")
        try await waitUntil { batcher.queuedCount == 1 }
        running.cancel()
        endpoint.release(batches: 2)
        #expect(try await first.body == .string("first"))
        #expect(try await queued.body == .string("queued"))
        try await running.value
        await #expect(throws: RelayError.self) { try await batcher.submit("too late") }
        #expect(endpoint.batches == [["first"], ["queued"]])
    }

    @Test("once shutdown began, a failed request fails every queued and later op at once, without another request")
    func unreachableAtShutdown() async throws {
        let endpoint = BatchEndpoint(holding: true, failing: [0])
        try await endpoint.withBatcher { batcher in
            try await withThrowingTaskGroup(of: (any Error)?.self) { group in
                // A failed wait must fail the test, not leave the group waiting for held batches forever.
                defer { endpoint.release(batches: 10_000) }
                let submit: @Sendable (String) async -> (any Error)? = { op in
                    do {
                        _ = try await batcher.submit(op)
                        return nil
                    } catch {
                        return error
                    }
                }
                group.addTask { await submit("first") }
                try await waitUntil { endpoint.batches.count == 1 }
                for index in 0..<2500 { group.addTask { await submit("disconnect\(index)") } }
                try await waitUntil { batcher.queuedCount == 2500 }
                batcher.shutdownBegan()
                // Permits for more requests than the one expected, so that a batcher still sending fails the
                // expectations below instead of waiting for them.
                endpoint.release(batches: 10)
                var failed = 0
                for try await error in group where error as? RelayError == BatchEndpoint.failure { failed += 1 }
                #expect(failed == 2501)
            }
            await #expect(throws: BatchEndpoint.failure) { try await batcher.submit("later") }
        }
        // One request, the first op's (sizes, not contents: a failure lists 2,500 ops otherwise).
        #expect(endpoint.batches.map(\.count) == [1])
    }

    @Test("join, leave and disconnect carry the single calls' fields and are answered as the single calls were")
    func calls() async throws {
        let endpoint = BatchEndpoint { op in
            switch (try? JSONValue.parse(op))?["op"]?.stringValue {
            case "join": UsherAPI.Reply(status: 409, body: .object(["status": .integer(409), "error": .string("full"), "code": .integer(4100)]))
            case "leave": UsherAPI.Reply(status: 200, body: .object(["status": .integer(200)]))
            default: UsherAPI.Reply(status: 404, body: .object(["status": .integer(404), "error": .string("no such app")]))
            }
        }
        try await endpoint.withBatcher { batcher in
            let outcome = try await batcher.join(
                app: "3", socketID: "1.2", channel: "presence-room", auth: "key:sig", channelData: #"{"user_id":"ann"}"#, listMembers: false)
            guard case .refused(status: 409, code: 4100?, message: "full") = outcome else { throw TestbedError("unexpected \(outcome)") }
            try await batcher.leave(app: "3", socketID: "1.2", channel: "presence-room")
            await #expect(throws: RelayError.self) { try await batcher.disconnect(app: "3", socketID: "1.2") }
        }
        let ops = endpoint.batches.flatMap { $0 }.map { try? JSONValue.parse($0) }
        #expect(ops == [
            .object([
                "op": .string("join"), "app": .string("3"), "socket_id": .string("1.2"), "channel": .string("presence-room"),
                "auth": .string("key:sig"), "channel_data": .string(#"{"user_id":"ann"}"#), "presence": .bool(false),
            ]),
            .object(["op": .string("leave"), "app": .string("3"), "socket_id": .string("1.2"), "channel": .string("presence-room")]),
            .object(["op": .string("disconnect"), "app": .string("3"), "socket_id": .string("1.2")]),
        ])
    }
}

/// Stands in for Usher's batch endpoint: records each batch and answers each op with `answer` (by default a 200
/// echoing the op); when `holding`, each batch waits for ``release(batches:)`` before it answers.
final class BatchEndpoint: Sendable {
    static let failure = RelayError.usher("the batch request failed")

    private struct State {
        var batches: [[String]] = []
        var permits = 0
        var waiting: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    private let holding: Bool
    private let failing: Set<Int>
    private let answer: @Sendable (String) -> UsherAPI.Reply

    /// - Parameter failing: Indexes of the batches whose request fails (with ``failure``).
    init(
        holding: Bool = false, failing: Set<Int> = [],
        answer: @escaping @Sendable (String) -> UsherAPI.Reply = { UsherAPI.Reply(status: 200, body: .string($0)) }
    ) {
        self.holding = holding
        self.failing = failing
        self.answer = answer
    }

    /// Every batch received so far, in order.
    var batches: [[String]] { state.withLock { $0.batches } }

    /// Lets the next `count` batches (held or still to come) answer.
    func release(batches count: Int) {
        let waiting = state.withLock { state in
            state.permits += count
            defer { state.waiting = nil }
            return state.waiting
        }
        waiting?.resume()
    }

    func send(_ ops: [String]) async throws -> [UsherAPI.Reply] {
        let index = state.withLock { state in
            state.batches.append(ops)
            return state.batches.count - 1
        }
        if holding {
            await withCheckedContinuation { continuation in
                let go = state.withLock { state in
                    guard state.permits == 0 else { return true }
                    state.waiting = continuation
                    return false
                }
                if go { continuation.resume() }
            }
            state.withLock { $0.permits -= 1 }
        }
        if failing.contains(index) { throw Self.failure }
        return ops.map(answer)
    }

    /// Runs `body` with a batcher sending here, then stops the batcher.
    func withBatcher(_ body: (CallBatcher) async throws -> Void) async throws {
        let batcher = CallBatcher(send: send)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await batcher.run() }
            defer { group.cancelAll() }
            try await body(batcher)
        }
    }
}

/// Polls `condition` until it holds (at most 60 s, for a loaded test machine): for waiting on another task's
/// progress, never for timing.
func waitUntil(_ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(60)
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TestbedError("condition not met within 60 s") }
        try await Task.sleep(for: .milliseconds(2))
    }
}
