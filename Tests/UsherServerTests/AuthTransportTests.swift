import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// The ways a request may be shaped: body encodings, where the token travels, and how the app is named.
@Suite struct AuthTransportTests {
    static let v1Body = #"{"auth":"278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"}"#

    @Test("a JSON body is read like the form", arguments: [
        #"{"socket_id":"1234.1234","channel_name":"private-foobar"}"#,
        #"{"channel_name":"private-foobar","socket_id":"1234.1234","app_id":3}"#,
    ])
    func jsonBody(body: String) async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let response = try await client.execute(
                uri: "/pusher/auth", method: .post,
                headers: AuthRequest.headers(token: token, contentType: "application/json; charset=utf-8"),
                body: ByteBuffer(string: body)
            )
            #expect(response.status == .ok)
            #expect(response.text == Self.v1Body)
        }
    }

    @Test("a body without a content type is read as form data (pusher-websocket-swift)")
    func noContentType() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let response = try await client.execute(
                uri: "/pusher/auth", method: .post, headers: AuthRequest.headers(token: token, contentType: nil),
                body: AuthRequest.form(["socket_id": "1234.1234", "channel_name": "private-foobar"])
            )
            #expect(response.status == .ok)
            #expect(response.text == Self.v1Body)
        }
    }

    @Test("the token may travel in the token form field")
    func tokenField() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let response = try await client.post(["socket_id": "1234.1234", "channel_name": "private-foobar", "token": token])
            #expect(response.status == .ok)
            #expect(response.text == Self.v1Body)
        }
    }

    @Test("the token may travel in the configured cookie, and only that cookie")
    func cookie() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher(identity: Fixtures.identity(cookie: "session")).run { client in
            let fields: KeyValuePairs = ["socket_id": "1234.1234", "channel_name": "private-foobar"]
            let good = try await client.post(fields, headers: [.cookie: "theme=dark; session=\(token)"])
            #expect(good.status == .ok)
            #expect(good.text == Self.v1Body)
            let other = try await client.post(fields, headers: [.cookie: "other=\(token)"])
            expectRefusal(other, .unauthorized, secrets: [token])
        }
    }

    @Test("without a configured cookie, cookies are ignored")
    func cookieNotConfigured() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let response = try await client.post(
                ["socket_id": "1234.1234", "channel_name": "private-foobar"], headers: [.cookie: "session=\(token)"]
            )
            expectRefusal(response, .unauthorized, secrets: [token])
        }
    }

    @Test("with several apps, app_key or app_id (field or query) chooses the signer")
    func appSelection() async throws {
        let other = try App.generate(id: "4", name: "other", now: Date())
        let server = try TestServer(
            apps: [Fixtures.pusherApp(), other],
            settings: [Fixtures.settings(), Fixtures.settings(id: "4")]
        )
        let token = try Fixtures.token()
        let otherMAC = HMACKey(secret: other.secrets[0].secret).hexMAC("1.2:private-foobar")
        try await server.run { client in
            let byKey = try await client.post(["socket_id": "1.2", "channel_name": "private-foobar", "app_key": other.key], token: token)
            #expect(byKey.status == .ok)
            #expect(byKey.fields["auth"] == "\(other.key):\(otherMAC)")

            let byID = try await client.post(["socket_id": "1234.1234", "channel_name": "private-foobar", "app_id": "3"], token: token)
            #expect(byID.text == Self.v1Body)

            let byQuery = try await client.post(
                ["socket_id": "1.2", "channel_name": "private-foobar"], to: "/pusher/auth?app_id=4", token: token
            )
            #expect(byQuery.fields["auth"] == "\(other.key):\(otherMAC)")
        }
    }

    @Test("with several apps, a request naming none, an unknown one or two different ones is refused")
    func appSelectionRefusals() async throws {
        let other = try App.generate(id: "4", now: Date())
        let server = try TestServer(
            apps: [Fixtures.pusherApp(), other], settings: [Fixtures.settings(), Fixtures.settings(id: "4")]
        )
        let token = try Fixtures.token()
        try await server.run { client in
            let unnamed = try await client.post(["socket_id": "1.2", "channel_name": "private-foobar"], token: token)
            expectRefusal(unnamed, .badRequest, secrets: [token, other.secrets[0].secret])
            let unknown = try await client.post(["socket_id": "1.2", "channel_name": "private-foobar", "app_key": "nosuchkey1"], token: token)
            expectRefusal(unknown, .notFound, secrets: [token])
            let mismatched = try await client.post(
                ["socket_id": "1.2", "channel_name": "private-foobar", "app_key": other.key, "app_id": "3"], token: token
            )
            expectRefusal(mismatched, .notFound, secrets: [token])
        }
    }
}
