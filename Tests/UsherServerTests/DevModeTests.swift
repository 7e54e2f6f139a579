import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// `--dev`: an app without settings serves anonymous callers; without `--dev` the same app refuses them.
@Suite struct DevModeTests {
    static func devServer(dev: Bool = true) throws -> TestServer {
        try TestServer(apps: [Fixtures.pusherApp()], settings: [], dev: dev)
    }

    @Test("an anonymous private subscription is signed (V1 known answer)")
    func anonymousPrivate() async throws {
        try await Self.devServer().run { client in
            let response = try await client.post(["socket_id": "1234.1234", "channel_name": "private-foobar"])
            #expect(response.status == .ok)
            #expect(response.text == #"{"auth":"278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"}"#)
        }
    }

    @Test("the user_id field names the anonymous presence member")
    func namedPresence() async throws {
        try await Self.devServer().run { client in
            let response = try await client.post(["socket_id": "123.456", "channel_name": "presence-room", "user_id": "42"])
            #expect(response.status == .ok)
            // V5 known answer: socket 123.456, presence-room, {"user_id":"42"}.
            #expect(response.fields == [
                "auth": "278d425bdf160c739803:df99d5bde6eaa860dcc76115393e46448962d93c6727592479b34fd932390dcc",
                "channel_data": #"{"user_id":"42"}"#,
            ])
        }
    }

    @Test("without a user_id field (or with an empty one) the member is anonymous-<socket_id>", arguments: [false, true])
    func anonymousPresence(emptyField: Bool) async throws {
        try await Self.devServer().run { client in
            let response = emptyField
                ? try await client.post(["socket_id": "1.2", "channel_name": "presence-room", "user_id": ""])
                : try await client.post(["socket_id": "1.2", "channel_name": "presence-room"])
            #expect(response.status == .ok)
            let channelData = try #require(response.fields["channel_data"])
            #expect(channelData == #"{"user_id":"anonymous-1.2"}"#)
            let mac = HMACKey(secret: Fixtures.appSecret).hexMAC("1.2:presence-room:" + channelData)
            #expect(response.fields["auth"] == "\(Fixtures.appKey):\(mac)")
        }
    }

    @Test("anonymous user authentication signs anonymous-<socket_id>")
    func anonymousUserAuth() async throws {
        try await Self.devServer().run { client in
            let response = try await client.post(["socket_id": "1.2"], to: "/pusher/user-auth")
            #expect(response.status == .ok)
            #expect(response.fields["user_data"] == #"{"id":"anonymous-1.2"}"#)
        }
    }

    @Test("dev mode still refuses public and malformed requests")
    func devStillValidates() async throws {
        try await Self.devServer().run { client in
            expectRefusal(try await client.post(["socket_id": "1.2", "channel_name": "news"]), .badRequest)
            expectRefusal(try await client.post(["socket_id": "12", "channel_name": "private-a"]), .badRequest)
        }
    }

    @Test("without --dev, an app without identity refuses anonymous and token callers with 401")
    func nonDevWithoutIdentity() async throws {
        let token = try Fixtures.token()
        try await Self.devServer(dev: false).run { client in
            let anonymous = try await client.post(["socket_id": "1.2", "channel_name": "private-foobar", "user_id": "42"])
            expectRefusal(anonymous, .unauthorized)
            #expect(anonymous.headers[.wwwAuthenticate] == "Bearer")
            expectRefusal(try await client.post(["socket_id": "1.2", "channel_name": "private-foobar"], token: token), .unauthorized, secrets: [token])
            expectRefusal(try await client.post(["socket_id": "1.2"], to: "/pusher/user-auth"), .unauthorized)
        }
    }
}
