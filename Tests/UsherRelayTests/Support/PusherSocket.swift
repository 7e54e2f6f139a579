import Foundation
import HummingbirdWSClient
import Logging
import NIOWebSocket
import Synchronization
import UsherCore
import UsherCrypto

/// A Pusher protocol client over a real WebSocket (HummingbirdWSClient), for driving a relay from tests.
///
/// Received frames queue up; ``next(_:timeout:)`` waits for one that matches, skipping (and keeping) the others.
final class PusherSocket: Sendable {
    let socketID: String
    private let received = Mutex<[JSONValue]>([])
    private let outgoing: AsyncStream<String>.Continuation
    private let task: Task<Void, Never>
    private let closeCode: CloseBox

    private init(socketID: String, outgoing: AsyncStream<String>.Continuation, task: Task<Void, Never>, closeCode: CloseBox) {
        self.socketID = socketID
        self.closeCode = closeCode
        self.outgoing = outgoing
        self.task = task
    }

    /// Connects to `/app/{key}?{query}` and waits for `pusher:connection_established`.
    static func connect(port: Int, key: String = TestApp.key, query: String = "protocol=7&client=swift-test&version=1") async throws -> PusherSocket {
        let (frames, frameSink) = AsyncStream.makeStream(of: String.self)
        let (outgoing, outgoingSink) = AsyncStream.makeStream(of: String.self)
        let code = CloseBox()
        let task = Task {
            let frame = try? await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/app/\(key)?\(query)", logger: TestApp.quietLogger) {
                inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in outgoing { try await outbound.write(.text(text)) }
                    }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        if case .text(let text) = message { frameSink.yield(text) }
                    }
                    group.cancelAll()
                }
            }
            code.set(frame.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) } ?? 1006)
            frameSink.finish()
        }
        var iterator = frames.makeAsyncIterator()
        let watchdog = Task {
            try await Task.sleep(for: .seconds(10))
            task.cancel()
        }
        defer { watchdog.cancel() }
        guard let first = await iterator.next(), let established = try? JSONValue.parse(first) else {
            task.cancel()
            throw TestbedError("no first frame; closed with \(code.get().map(String.init) ?? "-")")
        }
        let socket = PusherSocket(socketID: data(established)?["socket_id"]?.stringValue ?? "", outgoing: outgoingSink, task: task, closeCode: code)
        socket.received.withLock { $0.append(established) }
        nonisolated(unsafe) var rest = iterator
        Task { [socket] in
            while let text = await rest.next() {
                if let value = try? JSONValue.parse(text) { socket.received.withLock { $0.append(value) } }
            }
        }
        return socket
    }

    private var isClosed: Bool { closeCode.get() != nil }

    /// Sends `{"event":…,"data":…,"channel":…}`.
    func send(_ event: String, data: JSONValue, channel: String? = nil) {
        var object: [String: JSONValue] = ["event": .string(event), "data": data]
        if let channel { object["channel"] = .string(channel) }
        outgoing.yield(JSONValue.object(object).jsonText)
    }

    /// Sends raw text.
    func sendRaw(_ text: String) {
        outgoing.yield(text)
    }

    /// Subscribes; for private and presence channels signs like the app server would (with `channelData` for presence).
    func subscribe(_ channel: String, channelData: String? = nil, auth: String? = nil) throws {
        var data: [String: JSONValue] = ["channel": .string(channel)]
        let name = try ChannelName(validating: channel)
        let socket = try SocketID(validating: socketID)
        if let auth {
            data["auth"] = .string(auth)
        } else if let channelData {
            data["auth"] = .string(try TestApp.authorizer.authorizePresence(socketID: socket, channel: name, channelData: channelData).auth)
        } else if name.requiresAuthorization {
            // Encrypted channels are signed like private ones (the test app has no master key for a shared secret).
            data["auth"] = .string(TestApp.key + ":" + HMACKey(secret: Array(TestApp.secret.utf8)).hexMAC("\(socket):\(channel)"))
        }
        if let channelData { data["channel_data"] = .string(channelData) }
        send("pusher:subscribe", data: .object(data))
    }

    /// Waits for the first not-yet-taken frame with `event` (and `channel`, when given); removes and returns it.
    func next(_ event: String, channel: String? = nil, timeout: Duration = .seconds(5)) async throws -> JSONValue {
        let deadline = ContinuousClock.now + timeout
        while true {
            let found = received.withLock { frames -> JSONValue? in
                guard let index = frames.firstIndex(where: { $0["event"]?.stringValue == event && (channel == nil || $0["channel"]?.stringValue == channel) })
                else { return nil }
                return frames.remove(at: index)
            }
            if let found { return found }
            if isClosed { throw TestbedError("socket closed (\(closeCode.get() ?? 0)) while waiting for \(event); have \(frames)") }
            guard ContinuousClock.now < deadline else { throw TestbedError("no \(event) within \(timeout); have \(frames)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Whether a frame with `event` arrives within `window` (for checking that something does *not* happen).
    func receives(_ event: String, channel: String? = nil, within window: Duration) async -> Bool {
        (try? await next(event, channel: channel, timeout: window)) != nil
    }

    /// The `data` of a frame, parsed when it is a JSON string.
    static func data(_ frame: JSONValue) -> JSONValue? {
        if let text = frame["data"]?.stringValue { return (try? JSONValue.parse(text)) ?? .string(text) }
        return frame["data"]
    }

    /// Forgets every frame received so far.
    func discardReceived() {
        received.withLock { $0.removeAll() }
    }

    /// Frames received and not yet taken, as text.
    var frames: [String] { received.withLock { $0.map(\.jsonText) } }

    /// The close code, once the relay closed the socket.
    func waitForClose(timeout: Duration = .seconds(5)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let code = closeCode.get() { return code }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestbedError("socket still open after \(timeout)")
    }

    /// Drops the connection without unsubscribing or a close handshake (the task is cancelled).
    func abort() {
        outgoing.finish()
        task.cancel()
    }
}

/// The close code the client task saw (nil while open; 1006 when the server sent no close frame).
private final class CloseBox: Sendable {
    private let value = Mutex<Int?>(nil)

    func set(_ code: Int?) { value.withLock { $0 = code } }
    func get() -> Int? { value.withLock { $0 } }
}
