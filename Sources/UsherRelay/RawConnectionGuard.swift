import NIOCore

/// The first handler of every relay connection, on the socket's raw bytes, enforcing what the HTTP upgrade machinery
/// behind it does not:
/// - **A deadline on the first request's head.** A connection that stays silent, or trickles a partial request, is
///   answered `408 Request Timeout` and closed after `headTimeout`: the HTTP decoder would wait forever, and enough
///   such sockets exhaust the process's file descriptors.
/// - **Masked client frames** (RFC 6455 §5.1). Once the connection is a WebSocket, a client frame without a mask fails
///   the connection: close code 1002, then the socket closes. NIO's frame decoder accepts unmasked frames.
///
/// - **New connections per client address** (when a limiter is given): over its rate, a connection is answered
///   `429 Too Many Requests` (over TLS: closed, as no handshake is wasted on it) before anything else happens.
///
/// A connection whose first answer is not `101 Switching Protocols` is plain HTTP (the trigger API, `/metrics`): the
/// guard then steps aside and leaves it to the HTTP idle timeout and the body deadline.
final class RawConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    enum Violation: String {
        case headTimeout = "handshake_timeout"
        case unmaskedFrame = "unmasked_frame"
        case rateLimited = "rate_limited"
    }

    private enum Phase {
        /// The first request's head is still arriving.
        case head
        /// The head is in; the server has not answered yet (bytes after the head are kept, as they may be frames).
        case answering
        /// Upgraded: every inbound byte is a client frame.
        case webSocket
        /// Closed for a violation; nothing more goes through.
        case failed
    }

    /// Bytes the client may send between its head and the server's answer (frames sent before the 101); more fails an
    /// upgrade (they cannot all be checked).
    static let maxEarlyBytes = 64 * 1024

    private let headTimeout: TimeAmount
    private let limiter: ConnectionRateLimiter?
    /// Whether TLS is in front (a refusal then cannot be answered in plain HTTP).
    private let behindTLS: Bool
    private let onViolation: @Sendable (Violation) -> Void
    private var phase = Phase.head
    private var timer: Scheduled<Void>?
    private var headEnd = HeadEndScanner()
    private var frames = ClientFrameScanner()
    /// Inbound bytes received after the head while the answer is pending.
    private var early: [UInt8] = []

    init(
        headTimeout: TimeAmount, limiter: ConnectionRateLimiter? = nil, behindTLS: Bool = false,
        onViolation: @escaping @Sendable (Violation) -> Void = { _ in }
    ) {
        self.headTimeout = headTimeout
        self.limiter = limiter
        self.behindTLS = behindTLS
        self.onViolation = onViolation
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context: context)
        context.fireChannelActive()
    }

    /// Counts the new connection against its address's rate, then starts the head's deadline.
    private func admit(context: ChannelHandlerContext) {
        guard case .head = phase, timer == nil else { return }
        if let limiter, !limiter.allow(context.channel.remoteAddress) {
            phase = .failed
            onViolation(.rateLimited)
            if !behindTLS {
                let answer = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
                context.writeAndFlush(wrapOutboundOut(.byteBuffer(ByteBuffer(string: answer))), promise: nil)
            }
            context.close(promise: nil)
            return
        }
        startTimer(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopTimer()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        switch phase {
        case .head:
            let end = buffer.withUnsafeReadableBytes { headEnd.scan($0) }
            if let end {
                stopTimer()
                guard headEnd.isGet else {
                    // Only a GET can be an upgrade: what follows is a body, the HTTP pipeline's to time and limit.
                    context.fireChannelRead(data)
                    context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                    return
                }
                phase = .answering
                let rest = buffer.readableBytes - end
                early = Array(buffer.readableBytesView.suffix(min(rest, Self.maxEarlyBytes + 1)))
            }
        case .answering:
            // Kept only up to the cap: past it, an upgrade is refused (below), and plain HTTP never needs the copy.
            if early.count <= Self.maxEarlyBytes { early += buffer.readableBytesView.prefix(Self.maxEarlyBytes + 1 - early.count) }
        case .webSocket:
            guard buffer.withUnsafeReadableBytes({ frames.scan($0) }) else { return fail(context: context, violation: .unmaskedFrame) }
        case .failed:
            return
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .answering = phase else {
            context.write(data, promise: promise)
            return
        }
        let upgraded: Bool
        switch unwrapOutboundIn(data) {
        case .byteBuffer(let buffer): upgraded = buffer.readableBytesView.starts(with: Self.switchingProtocols)
        case .fileRegion: upgraded = false
        }
        context.write(data, promise: promise)
        guard upgraded else {
            // Plain HTTP: the HTTP pipeline's own timeouts take it from here.
            early = []
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        phase = .webSocket
        let clean = early.count <= Self.maxEarlyBytes && early.withUnsafeBytes { frames.scan($0) }
        early = []
        if !clean { fail(context: context, violation: .unmaskedFrame) }
    }

    private static let switchingProtocols = Array("HTTP/1.1 101".utf8)

    private func startTimer(context: ChannelHandlerContext) {
        guard timer == nil, case .head = phase else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: headTimeout) { [self] in
            timer = nil
            guard case .head = phase else { return }
            phase = .failed
            onViolation(.headTimeout)
            // No answer can have begun before the head is complete.
            let answer = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(ByteBuffer(string: answer))), promise: nil)
            context.close(promise: nil)
        }
    }

    private func stopTimer() {
        timer?.cancel()
        timer = nil
    }

    /// Fails the connection: a WebSocket gets close code 1002 (protocol error) first.
    private func fail(context: ChannelHandlerContext, violation: Violation?) {
        let wasWebSocket = phase == .webSocket
        phase = .failed
        early = []
        if let violation { onViolation(violation) }
        if wasWebSocket {
            // An unmasked server frame: FIN + close, 2 payload bytes, 1002.
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(ByteBuffer(bytes: [0x88, 0x02, 0x03, 0xEA]))), promise: nil)
        }
        context.close(promise: nil)
    }
}

/// Finds the end of an HTTP request head (an empty line) in a byte stream fed in pieces, and whether it is a GET.
struct HeadEndScanner {
    /// The request's first bytes (its method), up to four.
    private var method: [UInt8] = []
    /// Whether the request line starts with `GET ` (only a GET can ask for a WebSocket upgrade).
    var isGet: Bool { method == Array("GET ".utf8) }
    /// Whether the current line has had any byte but CR.
    private var lineHasContent = false
    /// Whether any request line began (blank lines before a request line are not its end).
    private var started = false

    /// The offset just past the head's end within `bytes`, or nil when the head goes on.
    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Int? {
        for (offset, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "\n"):
                if started, !lineHasContent { return offset + 1 }
                lineHasContent = false
            case UInt8(ascii: "\r"):
                break
            default:
                lineHasContent = true
                started = true
            }
            if started, method.count < 4 { method.append(byte) }
        }
        return nil
    }
}

/// Follows client-to-server WebSocket frames through a byte stream fed in pieces, reading only their headers, and
/// reports the first one without a mask.
struct ClientFrameScanner {
    /// The current frame's header bytes read so far (at most 14).
    private var header: [UInt8] = []
    /// Payload bytes of the current frame still to skip.
    private var remaining: UInt64 = 0

    /// False once a frame without the mask bit is seen.
    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index < bytes.count {
            if remaining > 0 {
                let skip = Int(min(remaining, UInt64(bytes.count - index)))
                index += skip
                remaining -= UInt64(skip)
                continue
            }
            header.append(bytes[index])
            index += 1
            guard header.count >= 2 else { continue }
            guard header[1] & 0x80 != 0 else { return false }
            let short = header[1] & 0x7f
            let lengthBytes = short == 127 ? 8 : short == 126 ? 2 : 0
            guard header.count == 2 + lengthBytes + 4 else { continue }
            remaining = lengthBytes == 0 ? UInt64(short) : header[2..<2 + lengthBytes].reduce(0) { $0 << 8 | UInt64($1) }
            header.removeAll(keepingCapacity: true)
        }
        return true
    }
}
