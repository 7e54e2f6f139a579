import ServiceLifecycle
import Testing
import UsherCore
@testable import UsherRelay

/// What clients see when a relay stops (SIGTERM is a graceful shutdown).
@Suite struct RelayShutdownTests {
    @Test("on shutdown every client gets the close code 4200 (reconnect now), not 1000")
    func reconnectNow() async throws {
        try await Testbed.run { bed in
            let port = try Testbed.freePort()
            let configuration = try Testbed.relayConfiguration(
                port: port, usherPort: bed.usherPort, keys: bed.keys, peers: [], timings: Testbed.Timings())
            let service = ServiceGroup(
                services: [try buildRelay(configuration: configuration, logger: TestApp.quietLogger)], logger: TestApp.quietLogger)
            let running = Task { try await service.run() }
            try await Testbed.waitUntilListening(port: port)
            let sockets = [try await PusherSocket.connect(port: port), try await PusherSocket.connect(port: port)]
            try sockets[0].subscribe("news")
            _ = try await sockets[0].next("pusher_internal:subscription_succeeded", channel: "news")
            await service.triggerGracefulShutdown()
            for socket in sockets { #expect(try await socket.waitForClose(timeout: .seconds(10)) == 4200) }
            try await running.value
        }
    }
}
