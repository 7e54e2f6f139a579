import NIOCore
import NIOPosix
import Synchronization
import UsherCore
import UsherCrypto

/// A bare WebSocket client over TCP that never answers control frames: it models a client that ignores the relay's
/// close and keeps sending (which a conforming client library cannot be made to do).
final class RawWebSocket: Sendable {
    let socketID: String
    private let channel: any Channel
    private let collector: Collector

    private init(socketID: String, channel: any Channel, collector: Collector) {
        self.socketID = socketID
        self.channel = channel
        self.collector = collector
    }

    /// Upgrades `/app/{key}?protocol=7` by hand and waits for `pusher:connection_established`.
    static func connect(port: Int, key: String = TestApp.key) async throws -> RawWebSocket {
        let (socket, code) = try await connectAnswer(port: port, key: key)
        guard let socket else { throw TestbedError("the relay refused the raw socket with close code \(code ?? 0)") }
        return socket
    }

    /// Upgrades by hand and reports the outcome: the connection once
    /// `pusher:connection_established` arrived, or the close code when the relay refused it (`pusher:error`, then
    /// the close).
    static func connectAnswer(port: Int, key: String = TestApp.key) async throws -> (socket: RawWebSocket?, closeCode: Int?) {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            // The relay half-closes after its close frame; this client keeps its side open and keeps writing.
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let request = "GET /app/\(key)?protocol=7&client=raw&version=1 HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
            + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + "Sec-WebSocket-Version: 13\r\n\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if let code = collector.closeCode() {
                try? await channel.close()
                return (nil, code)
            }
            if let established = collector.messages().first(where: { $0["event"]?.stringValue == "pusher:connection_established" }) {
                let socketID = PusherSocket.data(established)?["socket_id"]?.stringValue ?? ""
                return (RawWebSocket(socketID: socketID, channel: channel, collector: collector), nil)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        try? await channel.close()
        throw TestbedError("neither connection_established nor a close over the raw socket")
    }

    /// Sends a masked text frame (whether or not the relay closed).
    func send(_ event: String, data: JSONValue, channel name: String? = nil) {
        var object: [String: JSONValue] = ["event": .string(event), "data": data]
        if let name { object["channel"] = .string(name) }
        sendFrame(Array(JSONValue.object(object).jsonText.utf8))
    }

    /// Sends one text frame carrying `payload` as it is (valid UTF-8 or not), masked as RFC 6455 requires of clients
    /// unless `masked` is false.
    func sendFrame(_ payload: [UInt8], masked: Bool = true) {
        let maskBit: UInt8 = masked ? 0x80 : 0
        var frame: [UInt8] = [0x81]
        if payload.count < 126 {
            frame.append(maskBit | UInt8(payload.count))
        } else if payload.count < 65536 {
            frame += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        } else {
            frame.append(maskBit | 127)
            frame += (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
        }
        if masked {
            let mask: [UInt8] = [0x37, 0xfa, 0x21, 0x3d]
            frame += mask
            frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        } else {
            frame += payload
        }
        channel.writeAndFlush(ByteBuffer(bytes: frame), promise: nil)
    }

    /// The text messages received so far, parsed.
    func messages() -> [JSONValue] { collector.messages() }

    /// Whether a message with `event` (and `channel`) was received.
    func received(_ event: String, channel name: String? = nil) -> Bool {
        messages().contains { $0["event"]?.stringValue == event && (name == nil || $0["channel"]?.stringValue == name) }
    }

    /// The code of the close frame the relay sent.
    func waitForCloseFrame(timeout: Duration = .seconds(5)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let code = collector.closeCode() { return code }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestbedError("no close frame within \(timeout)")
    }

    /// Whether the relay dropped the TCP connection within `timeout`. The client keeps sending `pusher:ping` meanwhile:
    /// after the relay's half-close, only a write (answered by a reset) shows that the relay closed its side for good.
    func waitForDisconnect(timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if collector.isInactive { return true }
            send("pusher:ping", data: .object([:]))
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    func abort() {
        channel.close(promise: nil)
    }
}

/// Collects the bytes the relay sends and parses them as an HTTP 101 answer followed by unmasked frames.
private final class Collector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private struct State {
        var bytes: [UInt8] = []
        var inactive = false
    }

    private let state = Mutex(State())

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        state.withLock { $0.bytes += buffer.readableBytesView }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.withLock { $0.inactive = true }
        context.fireChannelInactive()
    }

    var isInactive: Bool { state.withLock { $0.inactive } }

    /// (opcode, payload) of every complete frame after the HTTP answer.
    private func frames() -> [(opcode: UInt8, payload: [UInt8])] {
        let bytes = state.withLock { $0.bytes }
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else { return [] }
        var index = end + 4
        var found: [(UInt8, [UInt8])] = []
        while index + 2 <= bytes.count {
            let opcode = bytes[index] & 0x0f
            var length = Int(bytes[index + 1] & 0x7f)
            var start = index + 2
            if length == 126 {
                guard start + 2 <= bytes.count else { break }
                length = Int(bytes[start]) << 8 | Int(bytes[start + 1])
                start += 2
            } else if length == 127 {
                guard start + 8 <= bytes.count else { break }
                length = bytes[start..<start + 8].reduce(0) { $0 << 8 | Int($1) }
                start += 8
            }
            guard start + length <= bytes.count else { break }
            found.append((opcode, Array(bytes[start..<start + length])))
            index = start + length
        }
        return found
    }

    func messages() -> [JSONValue] {
        frames().compactMap { $0.opcode == 1 ? try? JSONValue.parse(String(decoding: $0.payload, as: UTF8.self)) : nil }
    }

    func closeCode() -> Int? {
        guard let close = frames().first(where: { $0.opcode == 8 }), close.payload.count >= 2 else { return nil }
        return Int(close.payload[0]) << 8 | Int(close.payload[1])
    }
}
