import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1.1 child channel with `AuthFastPathHandler` added *after* the connection state handler.
///
/// `HTTP1Channel.Configuration.additionalChannelHandlers` go before `HTTPConnectionStateHandler`, where a handler
/// that answers requests itself would hide them from the idle timeout (a busy keep-alive connection would be closed
/// as idle). The pipeline here is the same as `HTTP1Channel.setup` in hummingbird 2.28 otherwise.
struct UsherHTTP1Channel: HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let idleTimeout: Duration?
    let fastPath: @Sendable () -> AuthFastPathHandler

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let decoder = HTTP1Channel.Configuration.DecoderConfiguration()
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = decoder.maxHeaderFieldSize
            limits.maxHeaderListSize = decoder.maxHeaderListSize
            limits.maxHeaderFieldCount = decoder.maxHeaderFieldCount
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: false,  // requests are pipelined by NIOAsyncChannel, as in HTTP1Channel
                withErrorHandling: false,
                withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: limits
            )
            try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
            try channel.pipeline.syncOperations.addHandler(fastPath())
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with `POST /pusher/auth` answered on the event loop (see `AuthFastPathHandler`).
    static func usherHTTP1(idleTimeout: Duration?, fastPath: @escaping @Sendable () -> AuthFastPathHandler) -> HTTPServerBuilder {
        .init { responder in UsherHTTP1Channel(responder: responder, idleTimeout: idleTimeout, fastPath: fastPath) }
    }
}
