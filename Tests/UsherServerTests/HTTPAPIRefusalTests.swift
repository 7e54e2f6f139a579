import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// Every 401/400/404 path of the HTTP API: the status, a `{"error":…}` body naming the problem, and no secret in it.
@Suite struct HTTPAPIRefusalTests {
    static let users = "/apps/3/channels/presence-room/users"

    /// The §11 app plus app 4 (another key and secret), so a key can name the wrong app.
    static func twoApps() throws -> RelayServer {
        let other = try App(
            id: "4", key: "otherappkey000000000", secrets: [AppSecret(id: "s1", secret: "other-app-secret-000", created: Date())])
        return try RelayServer(apps: [Fixtures.pusherApp(), other])
    }

    @Test("SDK-signed requests pass, with or without body_md5 on GET")
    func accepted() async throws {
        try await RelayServer().run { client in
            let python = try await client.api(.get, Self.users, signer: .python)
            let node = try await client.api(.get, Self.users, signer: .node)
            #expect(python.status == .ok)
            #expect(node.status == .ok)
            #expect(node.text == #"{"users":[]}"#)
        }
    }

    @Test("missing auth_key, auth_signature, auth_timestamp or auth_version is a 401 naming it", arguments: [
        "auth_key", "auth_signature", "auth_timestamp", "auth_version",
    ])
    func missing(_ name: String) async throws {
        try await RelayServer().run { client in
            let target = APISigner.python.target(.get, Self.users)
            let query = target.split(separator: "?")[1].split(separator: "&").filter { !$0.hasPrefix("\(name)=") }
            let response = try await client.raw(.get, Self.users + "?" + query.joined(separator: "&"))
            expectRefusal(response, .unauthorized)
            #expect(response.errorMessage == "missing \(name)")
        }
    }

    // Wall-clock seconds here (the exact 599/601 s edges are pinned with a fixed clock in APIRequestSignatureTests):
    // a margin keeps a loaded machine's delay between signing and verifying from crossing the edge.
    @Test("a timestamp 11 minutes away either way is a 401 saying so", arguments: [-660, 660])
    func staleTimestamp(_ offset: Int64) async throws {
        try await RelayServer().run { client in
            let response = try await client.api(.get, Self.users, timestamp: Fixtures.now() + offset)
            expectRefusal(response, .unauthorized)
            #expect(response.errorMessage?.contains("auth_timestamp") == true)
        }
    }

    @Test("the timestamp window is server.api_timestamp_skew_seconds")
    func configurableSkew() async throws {
        var configuration = UsherConfiguration()
        try ConfigurationLoader.load(yaml: "server: { api_timestamp_skew_seconds: 60 }", baseDirectory: "/", into: &configuration)
        var server = try RelayServer()
        server.configuration.apiTimestampSkew = configuration.apiTimestampSkew
        try await server.run { client in
            // 30 s of margin on each side: a loaded machine may take seconds between signing and verifying.
            let fresh = try await client.api(.get, Self.users, timestamp: Fixtures.now() - 30)
            #expect(fresh.status == .ok)
            let stale = try await client.api(.get, Self.users, timestamp: Fixtures.now() - 90)
            expectRefusal(stale, .unauthorized)
            #expect(stale.errorMessage == "auth_timestamp is more than 60 s away from the server time")
        }
    }

    @Test("a tampered signature is a 401 carrying the expected string to sign")
    func badSignature() async throws {
        try await RelayServer().run { client in
            let timestamp = Fixtures.now()
            var signed: [String: String] = [:]
            let target = APISigner.python.target(.get, Self.users, timestamp: timestamp, signature: { String($0.reversed()) }, after: {
                signed = $0
                return $0
            })
            let response = try await client.raw(.get, target)
            expectRefusal(response, .unauthorized)
            let expected = APISigner.stringToSign(.get, Self.users, signed)
            #expect(response.errorMessage == "invalid auth_signature; expected HMAC-SHA256 of \(JSON.quoted(expected))")
        }
    }

    @Test("signatures that differ in case, in the secret, the path, a param or the method are 401s")
    func tampered() async throws {
        try await RelayServer().run { client in
            let upper = APISigner.python.target(.get, Self.users, signature: { $0.uppercased() })
            let wrongSecret = APISigner(secret: "not-the-secret-00000").target(.get, Self.users)
            let otherPath = APISigner.python.target(.get, "/apps/3/channels/presence-lobby/users")
                .replacingOccurrences(of: "presence-lobby", with: "presence-room")
            let param = APISigner.python.target(.get, "/apps/3/channels", params: ["filter_by_prefix": "presence-"], after: {
                $0.merging(["filter_by_prefix": "private-"]) { $1 }
            })
            for target in [upper, wrongSecret, otherPath, param] {
                expectRefusal(try await client.raw(.get, target), .unauthorized)
            }
            let asGET = APISigner.python.target(.get, "/apps/3/users/42/terminate_connections")
            expectRefusal(try await client.raw(.post, asGET, body: ""), .unauthorized)
        }
    }

    @Test("a body_md5 that does not match the body is a 401")
    func wrongBodyMD5() async throws {
        try await RelayServer().run { client in
            let target = APISigner.python.target(.post, "/apps/3/users/42/terminate_connections", body: "{}")
            let response = try await client.raw(.post, target, body: #"{"x":1}"#)
            expectRefusal(response, .unauthorized)
            #expect(response.errorMessage == "body_md5 does not match the body")
            let unsigned = APISigner.node.target(.post, "/apps/3/users/42/terminate_connections")
            let missing = try await client.raw(.post, unsigned, body: "{}")
            expectRefusal(missing, .unauthorized)
            #expect(missing.errorMessage == "missing body_md5")
        }
    }

    @Test("an unknown key, or a key of another app than the URL names, is refused")
    func wrongApp() async throws {
        let server = try Self.twoApps()
        try await server.run { client in
            let unknown = try await client.api(.get, Self.users, signer: APISigner(key: "unknownkey0000000000"))
            expectRefusal(unknown, .unauthorized)
            let otherApp = try await client.api(.get, "/apps/4/channels/presence-room/users")
            #expect([.unauthorized, .notFound].contains(otherApp.status))
            expectRefusal(otherApp, otherApp.status, secrets: ["other-app-secret-000"])
            let noApp = try await client.api(.get, "/apps/999/channels")
            #expect([.unauthorized, .notFound].contains(noApp.status))
            let otherKey = APISigner(key: "otherappkey000000000", secret: "other-app-secret-000")
            #expect(try await client.api(.get, "/apps/4/channels", signer: otherKey).status == .ok)
            let python = try await client.api(.post, "/users/42/terminate_connections", body: "{}", signer: otherKey)
            #expect(python.status == .ok)
        }
        guard case .events(let events) = server.store.events(after: 0, limit: 10) else { Issue.record("gap"); return }
        #expect(events.map(\.app) == ["4"], "the unprefixed path resolves the app from auth_key")
    }

    @Test("duplicate query parameters are a 400")
    func duplicates() async throws {
        try await RelayServer().run { client in
            let target = APISigner.python.target(.get, "/apps/3/channels", params: ["info": "subscription_count"])
            let response = try await client.raw(.get, target + "&info=subscription_count")
            expectRefusal(response, .badRequest)
            #expect(response.errorMessage == "duplicate parameter info")
        }
    }
}
