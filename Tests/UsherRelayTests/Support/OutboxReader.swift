import Synchronization
import UsherCrypto
@testable import UsherRelay

/// Collects the frames the relay queues for one connection, for tests that drive sessions without a WebSocket.
final class OutboxReader: Sendable {
    private let received = Mutex<[JSONValue]>([])

    init(_ connection: RelayConnection) {
        Task { [self] in
            for await text in connection.outbox {
                if let frame = try? JSONValue.parse(text) { received.withLock { $0.append(frame) } }
            }
        }
    }

    /// Waits for the first not-yet-taken frame with `event` (at most 5 s); removes and returns it.
    func next(_ event: String) async throws -> JSONValue {
        var found: JSONValue?
        try await waitUntil {
            found = received.withLock { frames in
                frames.firstIndex { $0["event"]?.stringValue == event }.map { frames.remove(at: $0) }
            }
            return found != nil
        }
        return found!
    }

    /// The next frame not yet taken, whatever its event (at most 5 s).
    func next() async throws -> JSONValue {
        var found: JSONValue?
        try await waitUntil {
            found = received.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            return found != nil
        }
        return found!
    }
}
