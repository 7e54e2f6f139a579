import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
@testable import UsherServer

/// CORS for browsers calling the auth endpoints with an `Authorization` header.
@Suite struct CORSTests {
    static let origin = "https://app.example"

    static func preflight(origin: String, requestHeaders: String? = "authorization, content-type") -> HTTPFields {
        var headers: HTTPFields = [.origin: origin, .accessControlRequestMethod: "POST"]
        if let requestHeaders { headers[.accessControlRequestHeaders] = requestHeaders }
        return headers
    }

    @Test("a preflight from a configured origin is 204 with the allow headers and Vary: Origin", arguments: ["/pusher/auth", "/pusher/user-auth"])
    func preflightAllowed(uri: String) async throws {
        try await TestServer.pusher(origins: [Self.origin]).run { client in
            let response = try await client.execute(uri: uri, method: .options, headers: Self.preflight(origin: Self.origin))
            #expect(response.status == .noContent)
            #expect(response.headers[.accessControlAllowOrigin] == Self.origin)
            #expect(response.headers[.accessControlAllowMethods]?.contains("POST") == true)
            #expect(response.headers[.accessControlAllowHeaders]?.lowercased().contains("authorization") == true)
            #expect(response.headers[values: .vary].contains("Origin"))
            #expect(response.headers[.accessControlAllowCredentials] == nil)
        }
    }

    @Test("a preflight without requested headers still allows Authorization and Content-Type")
    func preflightDefaultHeaders() async throws {
        try await TestServer.pusher(origins: [Self.origin]).run { client in
            let response = try await client.execute(
                uri: "/pusher/auth", method: .options, headers: Self.preflight(origin: Self.origin, requestHeaders: nil)
            )
            #expect(response.status == .noContent)
            let allowed = response.headers[.accessControlAllowHeaders]?.lowercased() ?? ""
            #expect(allowed.contains("authorization") && allowed.contains("content-type"))
        }
    }

    @Test("a preflight from an unknown origin is 403 without allow headers", arguments: [
        "https://evil.example", "https://app.example.evil.example", "http://app.example", "null",
    ])
    func preflightRefused(origin: String) async throws {
        try await TestServer.pusher(origins: [Self.origin]).run { client in
            let response = try await client.execute(uri: "/pusher/auth", method: .options, headers: Self.preflight(origin: origin))
            expectRefusal(response, .forbidden)
            #expect(response.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test("a POST from a configured origin carries Allow-Origin and Vary: Origin")
    func postAllowed() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher(origins: [Self.origin]).run { client in
            let response = try await client.post(
                ["socket_id": "1.2", "channel_name": "private-foobar"], token: token, headers: [.origin: Self.origin]
            )
            #expect(response.status == .ok)
            #expect(response.headers[.accessControlAllowOrigin] == Self.origin)
            #expect(response.headers[values: .vary].contains("Origin"))
        }
    }

    @Test("a refused POST from a configured origin still carries Allow-Origin, so the browser can read the status")
    func refusalReadable() async throws {
        try await TestServer.pusher(origins: [Self.origin]).run { client in
            let missingToken = try await client.post(["socket_id": "1.2", "channel_name": "private-foobar"], headers: [.origin: Self.origin])
            #expect(missingToken.status == .unauthorized)
            #expect(missingToken.headers[.accessControlAllowOrigin] == Self.origin)
            let forbidden = try await client.post(
                ["socket_id": "1.2", "channel_name": "private-unlisted"], token: try Fixtures.token(), headers: [.origin: Self.origin]
            )
            #expect(forbidden.status == .forbidden)
            #expect(forbidden.headers[.accessControlAllowOrigin] == Self.origin)
        }
    }

    @Test("a POST from an unknown origin gets no Allow-Origin")
    func postUnknownOrigin() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher(origins: [Self.origin]).run { client in
            let response = try await client.post(
                ["socket_id": "1.2", "channel_name": "private-foobar"], token: token, headers: [.origin: "https://evil.example"]
            )
            #expect(response.headers[.accessControlAllowOrigin] == nil)
        }
    }
}
