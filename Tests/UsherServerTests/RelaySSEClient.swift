import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One Server-Sent Event as read off the wire (`event` nil means the default `message`).
struct SSEEvent: Sendable, Equatable, CustomStringConvertible {
    var id: UInt64?
    var event: String?
    var data: String

    var description: String { "#\(id.map(String.init) ?? "-") \(event ?? "message") \(data)" }
}

/// A streaming `text/event-stream` reader over a raw NIO HTTP/1.1 connection (HummingbirdTesting's clients only
/// hand back whole responses). NIOHTTP1 undoes the chunked encoding; this parses the SSE fields.
///
/// The connection closes itself after `timeout`, which ends ``events``: a test waiting for an event that never comes
/// fails with what it did see instead of hanging.
final class SSEConnection: Sendable {
    let events: AsyncThrowingStream<SSEEvent, any Error>
    private let channel: any Channel
    private let head: ResponseHead

    /// The response status and content type, once the head arrived.
    var status: Int? { head.value.withLock { $0.map { Int($0.status.code) } } }
    var contentType: String? { head.value.withLock { $0?.headers.first(name: "content-type") } }

    private init(channel: any Channel, events: AsyncThrowingStream<SSEEvent, any Error>, head: ResponseHead) {
        self.channel = channel
        self.events = events
        self.head = head
    }

    static func open(
        port: Int, path: String = "/relay/v1/events", token: String = RelayFixtures.token, lastEventID: UInt64? = nil,
        timeout: Duration = .seconds(10)
    ) async throws -> SSEConnection {
        let (events, continuation) = AsyncThrowingStream<SSEEvent, any Error>.makeStream()
        let head = ResponseHead()
        let connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "localhost", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(SSEHandler(continuation: continuation, head: head))
                    return channel
                }
            }
        let sse = SSEConnection(channel: connection, events: events, head: head)
        continuation.onTermination = { _ in connection.close(promise: nil) }
        let deadline = connection.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout / .milliseconds(1)))) {
            connection.close(promise: nil)
        }
        connection.closeFuture.whenComplete { _ in deadline.cancel() }
        var headers = HTTPHeaders([("Host", "localhost"), ("Accept", "text/event-stream"), ("Authorization", "Bearer \(token)")])
        if let lastEventID { headers.add(name: "Last-Event-ID", value: String(lastEventID)) }
        connection.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)), promise: nil)
        try await connection.writeAndFlush(HTTPClientRequestPart.end(nil))
        return sse
    }

    /// Closes the connection (the server notices on its next write).
    func close() async {
        try? await channel.close()
    }

    /// Reads events until `done` holds for those read so far, or the stream ends; returns them all.
    static func read(
        _ iterator: inout AsyncThrowingStream<SSEEvent, any Error>.AsyncIterator, until done: ([SSEEvent]) -> Bool
    ) async throws -> [SSEEvent] {
        var seen: [SSEEvent] = []
        while !done(seen), let event = try await iterator.next() { seen.append(event) }
        return seen
    }
}

/// The response head, written on the event loop and read by the test.
private final class ResponseHead: Sendable {
    let value = Mutex<HTTPResponseHead?>(nil)
}

/// Turns HTTP response parts into SSE events (spec rules: blank line dispatches, `:` lines are comments).
private final class SSEHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    let continuation: AsyncThrowingStream<SSEEvent, any Error>.Continuation
    let head: ResponseHead
    private var buffer: [UInt8] = []

    init(continuation: AsyncThrowingStream<SSEEvent, any Error>.Continuation, head: ResponseHead) {
        self.continuation = continuation
        self.head = head
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let received):
            head.value.withLock { $0 = received }
        case .body(let body):
            buffer += body.readableBytesView
            while let end = blankLine() {
                let block = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeSubrange(..<(end + 2))
                if let event = Self.parse(block) { continuation.yield(event) }
            }
        case .end:
            continuation.finish()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }

    private func blankLine() -> Int? {
        guard buffer.count >= 2 else { return nil }
        return (0..<(buffer.count - 1)).first { buffer[$0] == 0x0A && buffer[$0 + 1] == 0x0A }
    }

    /// One event block; nil for blocks without data (comments, `retry:`).
    static func parse(_ block: String) -> SSEEvent? {
        var event = SSEEvent(id: nil, event: nil, data: "")
        var data: [String] = []
        for line in block.split(separator: "\n", omittingEmptySubsequences: false) where !line.hasPrefix(":") {
            let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            var value = parts.count > 1 ? parts[1] : ""
            if value.hasPrefix(" ") { value = value.dropFirst() }
            switch parts[0] {
            case "id": event.id = UInt64(value)
            case "event": event.event = String(value)
            case "data": data.append(String(value))
            default: break
            }
        }
        guard !data.isEmpty else { return nil }
        event.data = data.joined(separator: "\n")
        return event
    }
}
