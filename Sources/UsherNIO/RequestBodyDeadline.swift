import HTTPTypes
public import NIOCore
public import NIOHTTPTypes

/// A deadline on receiving each request body, with a minimum rate, in the manner of Apache's `mod_reqtimeout`
/// (`body=20,MinRate=500`): from a request's head, its body has `initial` to arrive, extended by one second for every
/// `minBytesPerSecond` bytes received. A client trickling a body (one byte every few seconds) is answered
/// `408 Request Timeout` and closed; a legitimate large upload at any real network speed never meets the deadline.
///
/// Sits after the HTTP/1.1 codec (`HTTPRequestPart`s); the head phase is the idle timeout's (a head counts only once
/// complete), so between the two no phase of a request can be held open indefinitely.
public final class RequestBodyDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    /// What a request body gets: `initial`, plus a second per `minBytesPerSecond` bytes received.
    public struct Limits: Sendable {
        public var initial: TimeAmount
        public var minBytesPerSecond: Int

        public init(initial: TimeAmount = .seconds(20), minBytesPerSecond: Int = 500) {
            self.initial = initial
            self.minBytesPerSecond = minBytesPerSecond
        }
    }

    private let limits: Limits
    private let onTimeout: @Sendable () -> Void
    /// When the body being received began (its request's head), nil between requests.
    private var start: NIODeadline?
    private var received = 0
    /// Whether the current request's answer has begun (a 408 can then no longer be written).
    private var answered = false
    private var timer: Scheduled<Void>?

    /// - Parameter onTimeout: Called once per connection closed for a late body (for a metric).
    public init(limits: Limits = Limits(), onTimeout: @escaping @Sendable () -> Void = {}) {
        self.limits = limits
        self.onTimeout = onTimeout
    }

    /// The instant the current body must be complete by.
    private var deadline: NIODeadline? {
        start.map { $0 + limits.initial + .seconds(Int64(received / max(1, limits.minBytesPerSecond))) }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            start = .now()
            received = 0
            answered = false
            schedule(context: context)
        case .body(let buffer):
            received += buffer.readableBytes
        case .end:
            start = nil
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data) { answered = true }
        context.write(data, promise: promise)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    private func schedule(context: ChannelHandlerContext) {
        guard timer == nil, let first = deadline else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: first) { [self] in
            timer = nil
            // The body may have ended, or moved the deadline on, since.
            guard let current = deadline else { return }
            guard current <= .now() else { return schedule(context: context) }
            expire(context: context)
        }
    }

    /// The body is late: a 408 when no answer began, then the connection closes.
    private func expire(context: ChannelHandlerContext) {
        start = nil
        onTimeout()
        if !answered {
            let head = HTTPResponse(status: .requestTimeout, headerFields: [.connection: "close", .contentLength: "0"])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.close(promise: nil)
    }
}
