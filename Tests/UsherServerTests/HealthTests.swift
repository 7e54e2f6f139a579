import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import UsherCore
import UsherServer

/// `/healthz` and `/readyz`, through the public `buildApplication(configuration:logger:)`.
@Suite struct HealthTests {
    func run(apps: [App], _ test: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let keys = TemporaryDirectory()
        defer { keys.remove() }
        for app in apps { try AppCredentialStore(directory: KeyDirectory(path: keys.path)).create(app) }
        var configuration = UsherConfiguration()
        configuration.keysDirectory = keys.path
        configuration.eventLoopThreads = 1
        let app = try buildApplication(configuration: configuration, logger: Fixtures.quietLogger)
        try await app.test(.router, test)
    }

    @Test("/healthz is 200 whether or not apps are loaded", arguments: [false, true])
    func healthz(withApp: Bool) async throws {
        try await run(apps: withApp ? [try Fixtures.pusherApp()] : []) { client in
            let response = try await client.execute(uri: "/healthz", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
        }
    }

    @Test("/readyz is 200 with an app loaded")
    func ready() async throws {
        try await run(apps: [try Fixtures.pusherApp()]) { client in
            let status = try await client.execute(uri: "/readyz", method: .get).status
            #expect(status == .ok)
        }
    }

    @Test("/readyz is 503 with no apps (also when the key directory does not exist)")
    func notReady() async throws {
        try await run(apps: []) { client in
            let response = try await client.execute(uri: "/readyz", method: .get)
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.contentType] == "application/json")
        }
    }

    @Test("an unknown path is 404 with a JSON error")
    func unknownPath() async throws {
        try await run(apps: [try Fixtures.pusherApp()]) { client in
            expectRefusal(try await client.execute(uri: "/nope", method: .get), .notFound)
        }
    }
}
