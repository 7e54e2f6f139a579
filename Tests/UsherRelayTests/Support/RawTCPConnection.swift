import NIOCore
import NIOPosix
import Synchronization

/// A bare TCP client: writes whatever bytes a test gives it (a partial request, a trickle) and records what comes back.
final class RawTCPConnection: Sendable {
    private let channel: any Channel
    private let recorder: Recorder

    private init(channel: any Channel, recorder: Recorder) {
        self.channel = channel
        self.recorder = recorder
    }

    static func connect(port: Int) async throws -> RawTCPConnection {
        let recorder = Recorder()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(recorder) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawTCPConnection(channel: channel, recorder: recorder)
    }

    /// Writes `text`; a write on a connection the server closed is ignored.
    func send(_ text: String) async {
        try? await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// Everything received so far, as text.
    var received: String { recorder.text }

    /// Whether the server closed the connection.
    var isClosed: Bool { recorder.isInactive }

    /// Waits until the server closes the connection, sending `trickle` (when given) every `interval` meanwhile;
    /// returns how long that took, or nil when it stayed open for `limit`.
    func waitForClose(limit: Duration, trickle: String? = nil, interval: Duration = .milliseconds(100)) async throws -> Duration? {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < limit {
            if isClosed { return ContinuousClock.now - start }
            if let trickle { await send(trickle) }
            try await Task.sleep(for: interval)
        }
        return nil
    }

    /// Waits until a response head has arrived (or the connection closed), at most `limit`; returns what arrived.
    func waitForAnswer(limit: Duration = .seconds(10)) async throws -> String {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < limit, !received.contains("\r\n\r\n"), !isClosed {
            try await Task.sleep(for: .milliseconds(20))
        }
        return received
    }

    func close() {
        channel.close(promise: nil)
    }
}

private final class Recorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private let state = Mutex<(bytes: [UInt8], inactive: Bool)>(([], false))

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        state.withLock { $0.bytes += buffer.readableBytesView }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.withLock { $0.inactive = true }
        context.fireChannelInactive()
    }

    var text: String { String(decoding: state.withLock { $0.bytes }, as: UTF8.self) }
    var isInactive: Bool { state.withLock { $0.inactive } }
}
