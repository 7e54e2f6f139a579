import Hummingbird
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

    static func run(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, request: Request, key: String?, services: RelayServices
    ) async {
        guard let key, let app = services.appsByKey[key] else {
            return await refuse(outbound, code: 4001, message: "App key \(key ?? "") not in this cluster")
        }
        guard let text = request.uri.queryParameters["protocol"] else {
            return await refuse(outbound, code: 4008, message: "No protocol version supplied")
        }
        guard let version = Int(String(text)), protocols.contains(version) else {
            return await refuse(outbound, code: 4007, message: "Unsupported protocol version")
        }
        let configuration = services.configuration
        let connection = services.hub.connect(app: app, outboxLimit: configuration.outboxLimit)
        connection.send(PusherFrame.connectionEstablished(
            socketID: connection.socketID.description, activityTimeoutSeconds: Int(configuration.activityTimeout.components.seconds)))
        let session = RelaySession(services: services, connection: connection)
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await drain(connection, into: outbound) }
                do {
                    for try await message in inbound.messages(maxSize: configuration.maxMessageBytes * 2) {
                        guard case .text(let text) = message else {
                            connection.send(PusherFrame.error(code: nil, message: "Binary frames are not supported"))
                            continue
                        }
                        await session.handle(text)
                    }
                } catch {
                    services.logger.debug("websocket read ended", metadata: ["usher.socket_id": "\(connection.socketID)", "usher.error": "\(error)"])
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            // Pusher's "reconnect now" code: clients come back to another node (or this one, restarted).
            connection.close(code: 4200, reason: "Relay restarting")
        }
        services.hub.disconnect(connection)
        guard connection.knownToUsher.withLock({ $0 }) else { return }
        do {
            try await services.usher.disconnect(app: app.id, socketID: connection.socketID.description)
        } catch {
            services.logger.warning("usher unreachable on disconnect; the node lease will expire the socket", metadata: ["usher.error": "\(error)"])
        }
    }

    /// Sends the outbox in order; closes with the queued code, or 4100 when the client fell too far behind.
    private static func drain(_ connection: RelayConnection, into outbound: WebSocketOutboundWriter) async {
        for await item in connection.outbox {
            switch item {
            case .text(let text):
                do { try await outbound.writeTextMessage(text) } catch { return }
            case .close(let code, let reason):
                try? await outbound.close(WebSocketErrorCode(codeNumber: code), reason: reason)
                return
            }
        }
        if connection.overflowed, !Task.isCancelled {
            try? await outbound.close(WebSocketErrorCode(codeNumber: 4100), reason: "Over capacity: client too slow")
        }
    }

    /// A connection-level refusal: `pusher:error` with the code, then a close with the same code (§9).
    private static func refuse(_ outbound: WebSocketOutboundWriter, code: Int, message: String) async {
        try? await outbound.writeTextMessage(PusherFrame.error(code: code, message: message))
        try? await outbound.close(WebSocketErrorCode(codeNumber: code), reason: message)
    }
}
