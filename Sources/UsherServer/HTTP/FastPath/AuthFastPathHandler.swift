import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Prometheus

/// Answers `POST /pusher/auth` straight from a connection's bytes; the first request of any other kind hands the
/// connection, for good, to Hummingbird's HTTP/1.1 pipeline and router (see `UsherHTTP1Channel`).
///
/// What it buys: a browser's auth requests skip llhttp, the NIOHTTP1 → HTTPTypes conversion both ways, four
/// channel handlers, the hop to the task pool and the router; each answer is one preformatted buffer. Profiles of
/// the previous design (a handler after the HTTPTypes codec) put the HTTP machinery at about half of user-space
/// time, the auth work itself at 14% — README "Performance" has the figures.
///
/// Why this is safe: `AuthWireRequest` accepts only the canonical request shape. Anything else is handed over
/// before any of its bytes are consumed, so NIO's parser decides every edge case of HTTP/1.1 exactly as it does for
/// other routes. Requests are answered in order (one at a time, synchronously), so pipelining needs no bookkeeping:
/// everything after a handover goes to the router, behind the answers already written. The work is the same
/// `AuthController.channelAuth` the router route runs, with the same CORS rule, error bodies and metrics.
///
/// Until the handover this handler also does what the HTTP pipeline would: the idle timeout, `Connection: close`,
/// graceful shutdown (`ChannelShouldQuiesceEvent`) and write backpressure (no reads while the socket is unwritable).
final class AuthFastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let path = "/pusher/auth"

    private let auth: AuthController
    private let metrics: UsherMetrics
    /// `usher_http_requests_total{route="/pusher/auth",status="200"}`, looked up once instead of per request.
    private let okCounter: Counter
    private let logger: Logger
    private let idleTimeout: TimeAmount?
    private let limits: AuthWireRequest.Limits
    /// Adds the HTTP/1.1 handlers right after this one (`UsherHTTP1Channel.addHTTPHandlers`).
    private let installHTTP: (ChannelPipeline.SynchronousOperations, AuthFastPathHandler) throws -> Void

    /// The start of a request whose bytes have not all arrived.
    private var received: ByteBuffer?
    private var lastActivity = NIODeadline.now()
    private var idleTimer: Scheduled<Void>?
    /// The server is shutting down: close once no request is half-read.
    private var quiescing = false
    /// A read held back while the socket cannot take more writes.
    private var readHeld = false
    private var handedOver = false
    /// An answer with `Connection: close` is on its way: read nothing more.
    private var closing = false
    private var date = HTTPDate.Cache()

    init(
        auth: AuthController, metrics: UsherMetrics, logger: Logger, idleTimeout: Duration?,
        installHTTP: @escaping (ChannelPipeline.SynchronousOperations, AuthFastPathHandler) throws -> Void
    ) {
        self.auth = auth
        self.metrics = metrics
        self.okCounter = metrics.requestCounter(route: Self.path, status: 200)
        self.logger = logger
        self.idleTimeout = idleTimeout.map(TimeAmount.init)
        self.limits = AuthWireRequest.Limits(maxBodyBytes: auth.configuration.maxBodyBytes)
        self.installHTTP = installHTTP
    }

    // MARK: Inbound

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { scheduleIdleCheck(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        scheduleIdleCheck(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()  // the task holds the context: let a closed connection go now, not at its timeout
        idleTimer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        if readHeld {
            readHeld = false
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !handedOver else { return context.fireChannelRead(data) }
        guard !closing else { return }
        var bytes = unwrapInboundIn(data)
        if var earlier = received.take() {
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        var answered = false
        defer { if answered { context.flush() } }
        while bytes.readableBytes > 0 {
            switch bytes.withUnsafeReadableBytes({ AuthWireRequest.parse($0, limits: limits) }) {
            case .incomplete:
                bytes.discardReadBytes()
                received = bytes
                return
            case .unsupported:
                if answered { context.flush() }
                answered = false
                return handOver(context: context, bytes: bytes)
            case .request(let request):
                bytes.moveReaderIndex(forwardBy: request.length)
                lastActivity = .now()
                let close = request.close || (quiescing && bytes.readableBytes == 0)
                let response = answer(request, close: close, context: context)
                guard close else {
                    context.write(wrapOutboundOut(response), promise: nil)
                    answered = true
                    continue
                }
                closing = true
                answered = false
                return context.writeAndFlush(wrapOutboundOut(response)).assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        // Between requests: close now. Half a request read: close after answering it.
        if received == nil { context.close(promise: nil) } else { quiescing = true }
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        // Backpressure for clients that pipeline requests without reading the answers.
        if context.channel.isWritable { context.read() } else { readHeld = true }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, readHeld {
            readHeld = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Answering

    private func answer(_ request: AuthWireRequest, close: Bool, context: ChannelHandlerContext) -> ByteBuffer {
        var status = HTTPResponse.Status.ok
        var extra = HTTPFields()
        let text: String
        do {
            text = try auth.channelAuth(headers: request.fields, query: URI(request.target), body: request.body, logger: logger)
        } catch {
            let refusal = ErrorAnswer(for: error, logger: logger)
            status = refusal.status
            extra = refusal.headers
            text = refusal.body
        }
        if let origin = request.fields[.origin] {
            CORSPolicyMiddleware<BasicRequestContext>.decorate(&extra, origin: origin, allowed: auth.registry.current.corsOrigins.contains(origin))
        }
        if status == .ok { okCounter.increment() } else { metrics.request(route: Self.path, status: status.code) }

        var buffer = context.channel.allocator.buffer(capacity: 160 + text.utf8.count)
        if status == .ok {
            buffer.writeStaticString("HTTP/1.1 200 OK\r\n")
        } else {
            buffer.writeString("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n")
        }
        buffer.writeStaticString("Content-Type: application/json\r\nContent-Length: ")
        buffer.writeString(String(text.utf8.count))
        buffer.writeStaticString("\r\nDate: ")
        buffer.writeString(date.current())
        buffer.writeStaticString("\r\nServer: usher\r\n")
        for field in extra {
            buffer.writeString(field.name.rawName)
            buffer.writeStaticString(": ")
            buffer.writeString(field.value)
            buffer.writeStaticString("\r\n")
        }
        if close { buffer.writeStaticString("Connection: close\r\n") }
        buffer.writeStaticString("\r\n")
        buffer.writeString(text)
        return buffer
    }

    // MARK: Connection state

    /// Gives the connection to the HTTP/1.1 pipeline, starting with `bytes` (the unsupported request, unread).
    private func handOver(context: ChannelHandlerContext, bytes: ByteBuffer) {
        handedOver = true
        idleTimer?.cancel()
        idleTimer = nil
        do {
            try installHTTP(context.pipeline.syncOperations, self)
        } catch {
            logger.error("could not set up the HTTP/1.1 pipeline", metadata: ["error": "\(error)"])
            return context.close(promise: nil)
        }
        context.fireChannelRead(wrapInboundOut(bytes))
        if quiescing { context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// Closes the connection once no complete request has arrived for `idleTimeout` (from the last answer, or from
    /// the connection's start). One timer per timeout period, not one per request.
    private func scheduleIdleCheck(context: ChannelHandlerContext) {
        guard let idleTimeout, idleTimer == nil, !handedOver else { return }
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: lastActivity + idleTimeout) { [self] in
            idleTimer = nil
            if lastActivity + idleTimeout <= .now() {
                context.close(promise: nil)
            } else {
                scheduleIdleCheck(context: context)
            }
        }
    }
}
