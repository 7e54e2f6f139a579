import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import UsherNIO

/// Hummingbird's HTTP/1.1 child channel, starting with `FastPathHandler` alone in front of the async channel.
///
/// The first request the fast path does not serve installs the usual handlers behind it (`addHTTPHandlers`, the
/// same pipeline as `HTTP1Channel.setup` in hummingbird 2.28) and removes it. Installing them late, rather than
/// having them sit idle behind the fast path, keeps `HTTPConnectionStateHandler`'s idle timer from closing a busy
/// fast-path connection (it would see no requests), and a connection that only ever asks for auth never allocates
/// a parser.
struct UsherHTTP1Channel: HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let idleTimeout: Duration?
    /// Whether the connection is behind TLS (requests are then `https`).
    let secure: Bool
    /// The deadline on request bodies, and what counts a connection closed for one (`RequestBodyDeadlineHandler`).
    let bodyDeadline: RequestBodyDeadlineHandler.Limits
    let onBodyTimeout: @Sendable () -> Void
    let fastPath: @Sendable (_ idleTimeout: Duration?, _ installHTTP: @escaping (ChannelPipeline.SynchronousOperations, FastPathHandler) throws -> Void) -> FastPathHandler

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let handler = fastPath(idleTimeout) { [idleTimeout, secure, bodyDeadline, onBodyTimeout] pipeline, handler in
                try Self.addHTTPHandlers(
                    to: pipeline, after: handler, idleTimeout: idleTimeout, secure: secure, bodyDeadline: bodyDeadline,
                    onBodyTimeout: onBodyTimeout, logger: logger)
            }
            try channel.pipeline.syncOperations.addHandler(handler)
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }

    /// The HTTP/1.1 handlers of `HTTP1Channel.setup`, placed right after `handler`, with a deadline on request bodies
    /// (the idle timeout covers a head, which counts only once complete; nothing in Hummingbird times a body).
    static func addHTTPHandlers(
        to pipeline: ChannelPipeline.SynchronousOperations, after handler: any ChannelHandler, idleTimeout: Duration?, secure: Bool,
        bodyDeadline: RequestBodyDeadlineHandler.Limits, onBodyTimeout: @escaping @Sendable () -> Void, logger: Logger
    ) throws {
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration()
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = decoder.maxHeaderFieldSize
        limits.maxHeaderListSize = decoder.maxHeaderListSize
        limits.maxHeaderFieldCount = decoder.maxHeaderFieldCount
        // Each goes in right after `handler`, so they are added last to first.
        try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger), position: .after(handler))
        try pipeline.addHandler(RequestBodyDeadlineHandler(limits: bodyDeadline, onTimeout: onBodyTimeout), position: .after(handler))
        try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: secure), position: .after(handler))
        try pipeline.configureHTTPServerPipeline(
            position: .after(handler),
            withPipeliningAssistance: false,  // requests are pipelined by NIOAsyncChannel, as in HTTP1Channel
            withErrorHandling: false,
            withOutboundHeaderValidation: false,
            withEncoderConfiguration: .init(),
            withDecoderLimitConfiguration: limits
        )
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with the hot routes answered on the event loop (see `FastPathHandler`), behind TLS when `tls` is given.
    static func usherHTTP1(
        idleTimeout: Duration?,
        tls: TLSCertificates?,
        bodyDeadline: RequestBodyDeadlineHandler.Limits,
        onBodyTimeout: @escaping @Sendable () -> Void,
        fastPath: @escaping @Sendable (Duration?, @escaping (ChannelPipeline.SynchronousOperations, FastPathHandler) throws -> Void) -> FastPathHandler
    ) -> HTTPServerBuilder {
        .init { responder in
            let channel = UsherHTTP1Channel(
                responder: responder, idleTimeout: idleTimeout, secure: tls != nil, bodyDeadline: bodyDeadline, onBodyTimeout: onBodyTimeout,
                fastPath: fastPath)
            guard let tls else { return channel }
            return TLSServerChannel(channel, certificates: tls)
        }
    }
}
