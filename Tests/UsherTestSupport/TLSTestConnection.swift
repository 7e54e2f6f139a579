import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One kept-alive HTTP/1.1 connection over TLS, trusting only the given CA: what a browser or SDK does, reduced to
/// what a test needs to see (which certificate a handshake accepted, and that an open connection survives a reload).
public final class TLSTestConnection: Sendable {
    private let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    /// Connects to 127.0.0.1 and completes the handshake, verifying the server's chain against `caFile` (NIOSSL
    /// checks the name against the connected IP address).
    public static func connect(port: Int, caFile: String) async throws -> TLSTestConnection {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(caFile)
        configuration.applicationProtocols = ["http/1.1"]
        let context = try NIOSSLContext(configuration: configuration)
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let connection = TLSTestConnection(channel: channel, collector: collector)
        // A request forces the handshake; its failure (an untrusted or wrong-name certificate) surfaces here.
        _ = try await connection.get("/healthz")
        return connection
    }

    /// `GET path` on this connection; the status code and body.
    public func get(_ path: String) async throws -> (status: Int, body: String) {
        try await send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    }

    /// `POST path` with a body of `contentType`.
    public func post(_ path: String, body: String, contentType: String, headers: String = "") async throws -> (status: Int, body: String) {
        try await send(
            "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n\(headers)\r\n" + body)
    }

    private func send(_ request: String) async throws -> (status: Int, body: String) {
        collector.reset()
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if let failure = collector.failure { throw failure }
            if let answer = collector.response() { return answer }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw collector.failure ?? ChannelError.ioOnClosedChannel
    }

    public func close() {
        channel.close(promise: nil)
    }
}

private final class Collector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private let state = Mutex<(bytes: [UInt8], failure: (any Error)?)>(([], nil))

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        state.withLock { $0.bytes += buffer.readableBytesView }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        state.withLock { $0.failure = error }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.withLock { if $0.failure == nil { $0.failure = ChannelError.ioOnClosedChannel } }
    }

    var failure: (any Error)? { state.withLock { $0.failure } }

    func reset() { state.withLock { $0.bytes = [] } }

    /// A complete response (head and a Content-Length body), if one arrived.
    func response() -> (status: Int, body: String)? {
        let text = String(decoding: state.withLock { $0.bytes }, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return nil }
        let head = text[..<end.lowerBound]
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        let body = text[end.upperBound...]
        guard body.utf8.count >= length else { return nil }
        return (status, String(body))
    }
}
