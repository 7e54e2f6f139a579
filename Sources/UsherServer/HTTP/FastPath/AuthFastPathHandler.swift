import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Answers `POST /pusher/auth` on the event loop that read it; every other request goes on to the router.
///
/// What it buys: the router path costs a hop from the event loop to the task pool and back, an async middleware
/// chain and a `Response` per request; profiles of stock Hummingbird show that overhead (retain/release, scheduler
/// wake-ups) dwarfing the auth work itself. Here the whole request is parsed, authorized and signed synchronously
/// by the same `AuthController.channelAuth` the router uses, with the same CORS headers, error bodies and metrics.
///
/// It sits after Hummingbird's `HTTPConnectionStateHandler`, so idle timeouts and `Connection: close` see every
/// request. HTTP/1.1 answers must keep request order: while a router request on this connection still awaits its
/// response, later auth requests are passed to the router too, behind it.
final class AuthFastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let path = "/pusher/auth"

    private enum State {
        case idle
        /// Reading an auth request's body.
        case collecting(HTTPRequest, ByteBuffer)
        /// The body passed the size limit: the rest is drained, then refused with 413.
        case oversized(HTTPRequest)
        /// The current request belongs to the router.
        case forwarding
    }

    private let auth: AuthController
    private let metrics: UsherMetrics
    private let logger: Logger
    private var state = State.idle
    /// The `Date` header, rebuilt at most once a second.
    private var date = (second: 0, text: "")
    /// Router requests on this connection whose response has not ended yet.
    private var routerResponsesPending = 0

    init(auth: AuthController, metrics: UsherMetrics, logger: Logger) {
        self.auth = auth
        self.metrics = metrics
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            if routerResponsesPending == 0, head.method == .post, Self.isAuthPath(head.path) {
                state = .collecting(head, context.channel.allocator.buffer(capacity: 0))
            } else {
                routerResponsesPending += 1
                state = .forwarding
                context.fireChannelRead(data)
            }
        case (.body(var part), .collecting(let head, var body)):
            state = .idle  // so `body` is uniquely referenced and grows in place
            if body.readableBytes + part.readableBytes <= auth.configuration.maxBodyBytes {
                body.writeBuffer(&part)
                state = .collecting(head, body)
            } else {
                state = .oversized(head)
            }
        case (.body, .oversized):
            break
        case (.end, .collecting(let head, let body)):
            state = .idle
            respond(context: context, head: head) {
                try auth.channelAuth(
                    headers: head.headerFields, query: URI(head.path ?? Self.path), body: Array(body.readableBytesView), logger: logger
                )
            }
        case (.end, .oversized(let head)):
            state = .idle
            respond(context: context, head: head) { throw NIOTooManyBytesError(maxBytes: auth.configuration.maxBodyBytes) }
        case (.end, .forwarding):
            state = .idle
            context.fireChannelRead(data)
        default:
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { routerResponsesPending -= 1 }
        context.write(data, promise: promise)
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequest, answer: () throws -> String) {
        var status = HTTPResponse.Status.ok
        var headers: HTTPFields = [.contentType: "application/json"]
        var text: String
        do {
            text = try answer()
        } catch {
            let refusal = ErrorAnswer(for: error, logger: logger)
            status = refusal.status
            headers.append(contentsOf: refusal.headers)
            text = refusal.body
        }
        if let origin = head.headerFields[.origin] {
            CORSPolicyMiddleware<BasicRequestContext>.decorate(&headers, origin: origin, allowed: auth.registry.current.corsOrigins.contains(origin))
        }
        let buffer = context.channel.allocator.buffer(string: text)
        headers[.contentLength] = String(buffer.readableBytes)
        headers[.date] = currentDate()
        headers[.server] = "usher"
        metrics.request(route: Self.path, status: status.code)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(buffer)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func currentDate() -> String {
        var now = time(nil)
        if now != date.second {
            var parts = tm()
            gmtime_r(&now, &parts)
            date = (now, HTTPDate.format(parts))
        }
        return date.text
    }

    private static func isAuthPath(_ path: String?) -> Bool {
        guard let path else { return false }
        return path == Self.path || path.hasPrefix(Self.path + "?")
    }
}
