import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOWebSocket
import ServiceLifecycle
import UsherCore

/// Runs one upgraded `/app/{key}` connection: checks the app and protocol, sends `pusher:connection_established`,
/// then reads messages while a writer task drains the connection's outbox.
enum WebSocketSession {
    /// Protocol versions accepted in `?protocol=` (pusher-js sends 7, pysher 6).
    static let protocols = 5...7

    /// The app key of a request target `/app/<key>[?query]` (empty path components ignored, as the router did), or
    /// nil for any other path.
    static func appKey(inTarget target: String) -> String? {
        let path = URI(target).path
        var components = path.split(separator: "/").makeIterator()
        guard components.next() == "app", let key = components.next(), components.next() == nil else { return nil }
        return String(key)
    }

    /// - Throws: What ended the reading with a protocol error (invalid UTF-8, a message over the size limit), after
    ///   the session was cleaned up: the WebSocket library then closes with that error's code (1007, 1009).
    static func run(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, request: Request, key: String, services: RelayServices
    ) async throws {
        guard let app = services.apps.byKey(key) else {
            return await refuse(outbound, code: 4001, message: "App key \(key) not in this cluster")
        }
        guard let text = request.uri.queryParameters["protocol"] else {
            return await refuse(outbound, code: 4008, message: "No protocol version supplied")
        }
        guard let version = Int(String(text)), protocols.contains(version) else {
            return await refuse(outbound, code: 4007, message: "Unsupported protocol version")
        }
        let configuration = services.configuration
        // The app's quota counts every node's connections (the others' as of their last heartbeats): PUSHER-PROTOCOL §9.
        guard let connection = services.hub.admit(
            app: app, outboxLimit: configuration.outboxLimit, outboxByteLimit: configuration.outboxByteLimit,
            quota: services.features[app.id].maxConnections, elsewhere: services.features.connectionsElsewhere(app: app.id))
        else {
            services.metrics.connectionFailed("over_quota")
            return await refuse(outbound, code: 4004, message: "Over connection quota")
        }
        connection.send(PusherFrame.connectionEstablished(
            socketID: connection.socketID.description, activityTimeoutSeconds: Int(configuration.activityTimeout.components.seconds)))
        let session = RelaySession(services: services, connection: connection)
        let readError = await withGracefulShutdownHandler {
            await withTaskGroup(of: Role.self) { group -> (any Error)? in
                group.addTask {
                    await drain(connection, into: outbound, metrics: services.metrics)
                    return .writer
                }
                group.addTask {
                    .reader(await read(inbound, session: session, maxSize: configuration.maxMessageBytes * 2))
                }
                group.addTask {
                    // A client that ignores our close must not keep the socket (and its subscriptions) alive.
                    var closed = connection.closed.makeAsyncIterator()
                    _ = await closed.next()
                    try? await Task.sleep(for: configuration.closeGrace)
                    return .watchdog
                }
                // The writer ends after sending the close and keeps nothing open; the reader (client gone, or its
                // close answered) or the watchdog (no answer in time) ends the session.
                var readError: (any Error)?
                while let role = await group.next() {
                    if case .writer = role { continue }
                    if case .reader(let error) = role { readError = error }
                    break
                }
                group.cancelAll()
                return readError
            }
        } onGracefulShutdown: {
            // Pusher's "reconnect now" code. `ClientCloser` already closed every connection open when shutdown began;
            // this covers one accepted in between (the WebSocket library's own handler may still win that race).
            connection.close(code: 4200, reason: "Relay restarting")
        }
        // Whoever still holds the connection (the event stream, a trigger) now queues into a finished outbox.
        connection.close(code: 1000, reason: "Closed")
        await services.gate.change {
            services.hub.disconnect(connection)
            services.watchlists.end(connection)
            guard connection.knownToUsher.withLock({ $0 }) else { return }
            do {
                try await services.batcher.disconnect(app: app.id, socketID: connection.socketID.description)
            } catch {
                services.requestResync()
                services.warnUsherFailure(
                    "usher disconnect failed; the next heartbeat sends a full snapshot", metadata: ["usher.error": "\(error)"])
            }
        }
        if let readError { throw readError }
    }

    private enum Role {
        case writer, watchdog
        /// The reader ended, with the protocol error that ended it, if any.
        case reader((any Error)?)
    }

    /// Hands text messages to the session in order; once the relay closed the connection, messages are read (so the
    /// client's close answer is seen) but no longer acted on.
    ///
    /// - Returns: The error that ended the reading (a protocol error the library closes for), nil at the stream's end.
    private static func read(_ inbound: WebSocketInboundStream, session: RelaySession, maxSize: Int) async -> (any Error)? {
        let connection = session.connection
        do {
            for try await message in inbound.messages(maxSize: maxSize) {
                guard !connection.isClosed else { continue }
                guard case .text(let text) = message else {
                    connection.send(PusherFrame.error(code: nil, message: "Binary frames are not supported"))
                    continue
                }
                await session.handle(text)
            }
        } catch {
            session.services.logger.debug(
                "websocket read ended", metadata: ["usher.socket_id": "\(connection.socketID)", "usher.error": "\(error)"])
            // Cancelled: the session ended for another reason (its close already sent).
            return error is CancellationError || Task.isCancelled ? nil : error
        }
        return nil
    }

    /// Sends the outbox in order, then the close the connection recorded (4100 when the client fell too far behind).
    private static func drain(_ connection: RelayConnection, into outbound: WebSocketOutboundWriter, metrics: RelayMetrics) async {
        for await text in connection.outbox {
            connection.took(text)
            do { try await outbound.writeTextMessage(text) } catch { return }
            metrics.messageOut()
        }
        if connection.overflowed { metrics.slowClientCloses.increment() }
        guard !Task.isCancelled, let close = connection.closeFrame else { return }
        try? await outbound.close(WebSocketErrorCode(codeNumber: close.code), reason: close.reason)
    }

    /// A connection-level refusal: `pusher:error` with the code, then a close with the same code (§9).
    private static func refuse(_ outbound: WebSocketOutboundWriter, code: Int, message: String) async {
        try? await outbound.writeTextMessage(PusherFrame.error(code: code, message: message))
        try? await outbound.close(WebSocketErrorCode(codeNumber: code), reason: message)
    }
}
