import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Prometheus
import UsherCore

/// Answers the hot routes straight from a connection's bytes — `POST /pusher/auth` and the relay's
/// `POST /relay/v1/apps/{app}/subscriptions` and `POST /relay/v1/nodes/{node}/batch`; the first request of any other
/// kind hands the connection, for good, to Hummingbird's HTTP/1.1 pipeline and router (see `UsherHTTP1Channel`).
///
/// What it buys: these requests skip llhttp, the NIOHTTP1 → HTTPTypes conversion both ways, four channel handlers,
/// the router and, but for the store's own work, the hops to the task pool and back; each answer is one
/// preformatted buffer. A relay call is checked on this event loop; its writes are applied here under the store's
/// lock when the store applies them without suspending (the memory store), and otherwise awaited off the loop
/// (PostgreSQL), its answer written back here. Profiles of the router path put the HTTP machinery and the thread
/// hops at well over half of the CPU of an auth request or a relay join (docs/performance.md).
///
/// Why this is safe: `WireRequest` accepts only the canonical request shape. Anything else is handed over before
/// any of its bytes are consumed, so NIO's parser decides every edge case of HTTP/1.1 exactly as it does for other
/// routes. Requests are answered in order, one at a time: while a relay call awaits its store, what arrives behind
/// it is kept unread (and no more is read) until its answer is written, so pipelining needs no more bookkeeping than
/// that; everything after a handover goes to the router, behind the answers already written. The work is the code
/// the router's routes run (`AuthController.channelAuth`, `RelayController.FastCall`, the relay token check of
/// `RelayAuthMiddleware`), with the same CORS rule, error bodies and metrics.
///
/// Until the handover this handler also does what the HTTP pipeline would: the idle timeout, `Connection: close`,
/// graceful shutdown (`ChannelShouldQuiesceEvent`), the client's half-close and write backpressure (no reads while
/// the socket is unwritable). A client pipelining more than `maxAnswersPerRead` requests in one read is handed over
/// too, so long batches run on the task pool rather than on the event loop.
final class FastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Requests answered per read before a pipelining connection is handed to the router (browsers send one).
    static let maxAnswersPerRead = 16

    private let auth: AuthController
    private let relay: RelayFastPath
    private let metrics: UsherMetrics
    /// `usher_http_requests_total{route=…,status="200"}` of each route, looked up once instead of per request.
    private let authOK: Counter
    private let subscribeOK: Counter
    private let batchOK: Counter
    private let logger: Logger
    private let idleTimeout: TimeAmount?
    private let limits: WireRequest.Limits
    /// Adds the HTTP/1.1 handlers right after this one (`UsherHTTP1Channel.addHTTPHandlers`).
    private let installHTTP: (ChannelPipeline.SynchronousOperations, FastPathHandler) throws -> Void

    /// The start of a request whose bytes have not all arrived.
    private var received: ByteBuffer?
    /// The whole length of the request in `received`, once its head is in: nothing to parse until then.
    private var receivedNeeds: Int?
    private var lastActivity = NIODeadline.now()
    private var idleTimer: Scheduled<Void>?
    /// The server is shutting down: close once no request is half-read.
    private var quiescing = false
    /// A read held back while the socket cannot take more writes.
    private var readHeld = false
    private var handedOver = false
    /// A relay call's writes are being applied off the loop: its answer comes next, so nothing more is parsed (what
    /// arrives waits in `received`) or read until it is written.
    private var awaitingStore = false
    /// The client half-closed while a relay call awaited its store: close once the answers are out.
    private var inputClosed = false
    /// The handler left the pipeline (the connection closed): an awaited answer has nowhere to go.
    private var removed = false
    /// Requests that arrived while a call awaited its store are being served, outside any read of the channel.
    private var servingOutsideRead = false
    /// An answer with `Connection: close` is on its way: read nothing more.
    private var closing = false
    private var date = HTTPDate.Cache()

    init(
        auth: AuthController, relay: RelayFastPath, metrics: UsherMetrics, logger: Logger, idleTimeout: Duration?,
        installHTTP: @escaping (ChannelPipeline.SynchronousOperations, FastPathHandler) throws -> Void
    ) {
        self.auth = auth
        self.relay = relay
        self.metrics = metrics
        self.authOK = metrics.requestCounter(route: WireRequest.Route.auth.pattern, status: 200)
        self.subscribeOK = metrics.requestCounter(route: WireRequest.Route.relaySubscribe(app: "").pattern, status: 200)
        self.batchOK = metrics.requestCounter(route: WireRequest.Route.relayBatch(node: "").pattern, status: 200)
        self.logger = logger
        self.idleTimeout = idleTimeout.map(TimeAmount.init)
        self.limits = WireRequest.Limits(maxBodyBytes: auth.configuration.maxBodyBytes)
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
        removed = true
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
            // Parse again only when it can change the outcome: the body is complete, or a new line of the head
            // came in (or the head outgrew its limit). Re-parsing on every segment would cost quadratic CPU for a
            // request sent a byte at a time.
            let mayChange =
                !awaitingStore
                && (receivedNeeds.map { earlier.readableBytes + bytes.readableBytes >= $0 }
                    ?? (bytes.readableBytesView.contains(UInt8(ascii: "\n")) || earlier.readableBytes + bytes.readableBytes > limits.maxHeadBytes))
            earlier.writeBuffer(&bytes)
            bytes = earlier
            guard mayChange else {
                received = bytes
                return
            }
        } else if awaitingStore {
            received = bytes
            return
        }
        serve(&bytes, context: context)
    }

    /// Answers the requests in `bytes` in order, until they run out, one awaits its store, or one is handed over.
    private func serve(_ bytes: inout ByteBuffer, context: ChannelHandlerContext) {
        receivedNeeds = nil
        var answered = 0
        defer { if answered > 0 { context.flush() } }
        while bytes.readableBytes > 0 {
            // A client pipelining more than this per read is served by the router from here on: its work runs on
            // the task pool, behind NIOAsyncChannel's backpressure, instead of holding this event loop (and every
            // other connection on it) for a long batch of, say, forged ES256 tokens.
            guard answered < Self.maxAnswersPerRead else {
                context.flush()
                answered = 0
                return handOver(context: context, bytes: bytes)
            }
            switch bytes.withUnsafeReadableBytes({ WireRequest.parse($0, limits: limits) }) {
            case .incomplete(let length):
                bytes.discardReadBytes()
                received = bytes
                receivedNeeds = length
                return
            case .unsupported:
                if answered > 0 { context.flush() }
                answered = 0
                return handOver(context: context, bytes: bytes)
            case .request(let request):
                bytes.moveReaderIndex(forwardBy: request.length)
                lastActivity = .now()
                var out = OutgoingText(buffer: context.channel.allocator.buffer(capacity: 256))
                let outcome: Result<Void, any Error>
                do {
                    if let call = try work(request, to: &out) {
                        received = bytes.readableBytes > 0 ? bytes : nil
                        return awaitStore(call, for: request, answeringInto: out, context: context)
                    }
                    outcome = .success(())
                } catch {
                    outcome = .failure(error)
                }
                guard write(answering: request, outcome, body: out, context: context) else {
                    answered = 0
                    return
                }
                answered += 1
            }
        }
    }

    /// Applies `call`'s writes off the loop, then answers `request` (its body written into `out`, still empty) and goes
    /// on with what arrived meanwhile.
    private func awaitStore(
        _ call: RelayController.FastCall, for request: WireRequest, answeringInto out: OutgoingText, context: ChannelHandlerContext
    ) {
        awaitingStore = true
        let (store, writes) = (relay.controller.store, call.writes)
        let applied = context.eventLoop.makePromise(of: [PresenceWriteResult].self)
        store.apply(writes) { applied.completeWith($0) }
        applied.futureResult.assumeIsolated().whenComplete { [self] results in
            awaitingStore = false
            guard !removed, !closing else { return }
            var out = out
            let outcome = Result { try call.answer(results.get(), logger: logger, to: &out) }
            guard write(answering: request, outcome, body: out, context: context) else { return }
            context.flush()
            if var rest = received.take() {
                // Outside a read: a handover must end the read it passes on itself.
                servingOutsideRead = true
                serve(&rest, context: context)
                servingOutsideRead = false
            }
            if !awaitingStore, !closing, !handedOver {
                if inputClosed {
                    received = nil
                    closeAfter(context.channel.allocator.buffer(capacity: 0), context: context)
                } else if readHeld, context.channel.isWritable {
                    readHeld = false
                    context.read()
                }
            }
        }
    }

    /// Writes the answer to `request` (unflushed); after an answer that closes the connection (flushed, and closed
    /// once sent), returns false: nothing more is read.
    private func write(
        answering request: WireRequest, _ outcome: Result<Void, any Error>, body out: OutgoingText, context: ChannelHandlerContext
    ) -> Bool {
        // Once the server is shutting down, this answer is the connection's last.
        let close = request.close || quiescing
        var (head, body) = answer(request, outcome, body: out, close: close, context: context)
        guard close else {
            context.write(wrapOutboundOut(head), promise: nil)
            if let body { context.write(wrapOutboundOut(body), promise: nil) }
            return true
        }
        if var body {
            // The last answer is closed after: one buffer, so one write completes it.
            head.writeBuffer(&body)
        }
        closeAfter(head, context: context)
        return false
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            // Close now unless a request's head is in or one awaits its store (then close after answering it), as
            // Hummingbird does.
            if receivedNeeds == nil, !awaitingStore { context.close(promise: nil) } else { quiescing = true }
        case let event as ChannelEvent where event == .inputClosed:
            // The client sends nothing more: close once the answers already written are out. (Passed on, the event
            // would end the async channel, whose closing fails writes still queued.)
            guard !closing else { return }
            guard !awaitingStore else {
                inputClosed = true
                return
            }
            received = nil
            closeAfter(context.channel.allocator.buffer(capacity: 0), context: context)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        // Backpressure for clients that pipeline requests without reading the answers, and none while a call awaits
        // its store.
        if context.channel.isWritable, !awaitingStore { context.read() } else { readHeld = true }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, readHeld, !awaitingStore {
            readHeld = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Answering

    /// The answer to `request` whose work ended in `outcome` (its body in `out` when it succeeded): its head, with
    /// its body in the same buffer when the body is small, or the body on its own (a batch's member lists are written
    /// once, into the buffer they are sent from; NIO writes both buffers with one `writev`).
    private func answer(
        _ request: WireRequest, _ outcome: Result<Void, any Error>, body out: OutgoingText, close: Bool, context: ChannelHandlerContext
    ) -> (head: ByteBuffer, body: ByteBuffer?) {
        var status = HTTPResponse.Status.ok
        var extra = HTTPFields()
        var out = out
        if case .failure(let error) = outcome {
            let refusal = ErrorAnswer(for: error, logger: logger)
            status = refusal.status
            extra = refusal.headers
            out.buffer.clear()
            out.buffer.writeString(refusal.body)
        }
        if let origin = request.origin {
            CORSPolicyMiddleware<BasicRequestContext>.decorate(&extra, origin: origin, allowed: auth.registry.current.corsOrigins.contains(origin))
        }
        switch (status, request.route) {
        case (.ok, .auth): authOK.increment()
        case (.ok, .relaySubscribe): subscribeOK.increment()
        case (.ok, .relayBatch): batchOK.increment()
        default: metrics.request(route: request.route.pattern, status: status.code)
        }

        var body = out.buffer
        let inline = body.readableBytes <= Self.maxInlineBody
        var head = context.channel.allocator.buffer(capacity: 160 + (inline ? body.readableBytes : 0))
        if status == .ok {
            head.writeStaticString("HTTP/1.1 200 OK\r\n")
        } else {
            head.writeString("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n")
        }
        head.writeStaticString("Content-Type: application/json\r\nContent-Length: ")
        head.writeString(String(body.readableBytes))
        head.writeStaticString("\r\nDate: ")
        head.writeString(date.current())
        head.writeStaticString("\r\nServer: usher\r\n")
        for field in extra {
            head.writeString(field.name.rawName)
            head.writeStaticString(": ")
            head.writeString(field.value)
            head.writeStaticString("\r\n")
        }
        if close { head.writeStaticString("Connection: close\r\n") }
        head.writeStaticString("\r\n")
        guard inline else { return (head, body) }
        head.writeBuffer(&body)
        return (head, nil)
    }

    /// Bodies up to this size are copied behind the head (one buffer, one `write`); larger ones are sent as they are.
    static let maxInlineBody = 2048

    /// The route's work: writes the answer's body to `out`, or throws the error to answer (with nothing written), or
    /// returns the relay call whose writes must be awaited before it is answered.
    private func work(_ request: WireRequest, to out: inout OutgoingText) throws -> RelayController.FastCall? {
        switch request.route {
        case .auth:
            out.append(try auth.channelAuth(headers: request.fields, query: URI(request.target), body: request.body, logger: logger))
            return nil
        case .relaySubscribe, .relayBatch:
            try relay.authorize(request.authorization)
            return try relay.start(request.route, body: request.body, logger: logger, to: &out)
        }
    }

    // MARK: Connection state

    /// Writes `last` (after everything written before it), reads nothing more, and closes once it is sent.
    private func closeAfter(_ last: ByteBuffer, context: ChannelHandlerContext) {
        closing = true
        context.writeAndFlush(wrapOutboundOut(last)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

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
        // The async channel passes what it read on at the end of a read; outside one, that end is this handler's.
        if servingOutsideRead { context.fireChannelReadComplete() }
        if quiescing { context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        if inputClosed { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
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

/// What the fast path needs to answer relay calls: the relay controller (whose store applies the writes), the store
/// again when it applies writes on the calling thread, and the relay token.
struct RelayFastPath: Sendable {
    let controller: RelayController
    /// The store when it applies writes without suspending (the memory store); nil when they are awaited (PostgreSQL).
    let immediateStore: (any ImmediatePresenceStore)?
    let token: RelayToken

    init(controller: RelayController, token: RelayToken) {
        self.controller = controller
        self.immediateStore = controller.store as? any ImmediatePresenceStore
        self.token = token
    }

    /// `RelayAuthMiddleware`'s check, with its answer.
    func authorize(_ authorization: String?) throws(RelayTokenRefusal) {
        guard RelayAuthMiddleware<BasicRequestContext>.authorizes(authorization, token: token) else { throw RelayTokenRefusal() }
    }

    /// Checks the call `route` makes with `body`; with an immediate store, applies it and writes its answer to `out`
    /// (returning nil), otherwise returns the call, whose writes are then the caller's to await.
    func start(_ route: WireRequest.Route, body: [UInt8], logger: Logger, to out: inout OutgoingText) throws -> RelayController.FastCall? {
        let call: RelayController.FastCall
        switch route {
        case .relaySubscribe(let app): call = try controller.subscribeCall(appID: app, body: body)
        case .relayBatch(let node): call = try controller.batchCall(node: node, body: body, logger: logger)
        case .auth: preconditionFailure("not a relay call")
        }
        guard let store = immediateStore else { return call }
        try call.answer(store.applyImmediately(call.writes), logger: logger, to: &out)
        return nil
    }
}
