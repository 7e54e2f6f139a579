import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// Well-authenticated requests that must still be refused: bad input (400), too large (413), or policy (403).
@Suite struct RequestRefusalTests {
    /// POSTs `body` as raw form bytes with a valid token and checks the refusal.
    func expectRaw(_ body: [UInt8], _ status: HTTPResponse.Status, contentType: String? = "application/x-www-form-urlencoded") async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let response = try await client.execute(
                uri: "/pusher/auth", method: .post, headers: AuthRequest.headers(token: token, contentType: contentType),
                body: ByteBuffer(bytes: body)
            )
            expectRefusal(response, status, secrets: [token])
        }
    }

    func expectFields(_ fields: KeyValuePairs<String, String>, _ status: HTTPResponse.Status, token: String? = nil) async throws {
        let token = try token ?? Fixtures.token()
        try await TestServer.pusher().run { client in
            expectRefusal(try await client.post(fields, token: token), status, secrets: [token])
        }
    }

    @Test("a body of exactly 16 KiB is read; one byte more is 413")
    func bodyLimit() async throws {
        let token = try Fixtures.token()
        let prefix = "socket_id=1234.1234&channel_name=private-foobar&pad="
        let fits = prefix + String(repeating: "x", count: 16 * 1024 - prefix.utf8.count)
        try await TestServer.pusher().run { client in
            let ok = try await client.execute(
                uri: "/pusher/auth", method: .post, headers: AuthRequest.headers(token: token), body: ByteBuffer(string: fits)
            )
            #expect(ok.status == .ok)
            let tooLarge = try await client.execute(
                uri: "/pusher/auth", method: .post, headers: AuthRequest.headers(token: token), body: ByteBuffer(string: fits + "x")
            )
            expectRefusal(tooLarge, .contentTooLarge, secrets: [token])
        }
    }

    @Test("a channel no rule matches is 403")
    func policyMiss() async throws {
        try await expectFields(["socket_id": "1.2", "channel_name": "private-unlisted"], .forbidden)
    }

    @Test("a rule's require claim must be held: missing or wrong is 403, right is 200")
    func requireClaim() async throws {
        let fields: KeyValuePairs = ["socket_id": "1.2", "channel_name": "private-admin-panel"]
        try await expectFields(fields, .forbidden)
        try await expectFields(fields, .forbidden, token: try Fixtures.token(extra: ["role": .string("user")]))
        let admin = try Fixtures.token(extra: ["role": .array([.string("user"), .string("admin")])])
        try await TestServer.pusher().run { client in
            let status = try await client.post(fields, token: admin).status
            #expect(status == .ok)
        }
    }

    @Test("a token's channels claim narrows what the rules allow")
    func channelsClaim() async throws {
        let token = try Fixtures.token(extra: ["channels": .array([.string("presence-lobby-*")])])
        try await expectFields(["socket_id": "1.2", "channel_name": "presence-room"], .forbidden, token: token)
        try await expectFields(["socket_id": "1.2", "channel_name": "private-foobar"], .forbidden, token: token)
        try await TestServer.pusher().run { client in
            let status = try await client.post(["socket_id": "1.2", "channel_name": "presence-lobby-1"], token: token).status
            #expect(status == .ok)
        }
    }

    @Test("a public channel is 400 and a server-to-user channel is 403")
    func channelKinds() async throws {
        try await expectFields(["socket_id": "1.2", "channel_name": "public-news"], .badRequest)
        try await expectFields(["socket_id": "1.2", "channel_name": "cache-news"], .badRequest)
        try await expectFields(["socket_id": "1.2", "channel_name": "#server-to-user-u1"], .forbidden)
    }

    @Test("a malformed socket_id is 400", arguments: ["1234", "1234.", ".1", "a.b", "1.2.3", " 1.2", "1.2\n", "", "١.٢"])
    func badSocketID(socketID: String) async throws {
        try await expectFields(["socket_id": socketID, "channel_name": "private-foobar"], .badRequest)
    }

    @Test("a malformed or too long channel name is 400", arguments: [
        "private-foo bar", "private-zoë", "", "private-#x", "#server-to-user-", "private-" + String(repeating: "a", count: 193),
    ])
    func badChannelName(channel: String) async throws {
        try await expectFields(["socket_id": "1.2", "channel_name": channel], .badRequest)
    }

    @Test("a missing socket_id or channel_name is 400")
    func missingFields() async throws {
        try await expectFields(["channel_name": "private-foobar"], .badRequest)
        try await expectFields(["socket_id": "1.2"], .badRequest)
    }

    @Test("a duplicate channel_name field is 400")
    func duplicateField() async throws {
        try await expectRaw(Array("socket_id=1.2&channel_name=private-foobar&channel_name=private-user-u1".utf8), .badRequest)
    }

    @Test("broken percent-encoding or invalid UTF-8 is 400", arguments: [
        "channel_name=private-foo%G1", "channel_name=private-foo%4", "channel_name=private-foo%",
        "channel_name=private-foo%FF", "channel_name=private-foo%C3%28", "channel_name%FF=private-foobar",
    ])
    func badEncoding(field: String) async throws {
        try await expectRaw(Array("socket_id=1.2&\(field)".utf8), .badRequest)
    }

    @Test("raw invalid UTF-8 bytes in the form are 400")
    func rawInvalidUTF8() async throws {
        try await expectRaw(Array("socket_id=1.2&channel_name=private-foo".utf8) + [0xFF, 0xFE], .badRequest)
    }

    @Test("an unsupported content type is 400", arguments: ["multipart/form-data; boundary=x", "application/xml", "image/png"])
    func unsupportedContentType(contentType: String) async throws {
        try await expectRaw(Array("socket_id=1.2&channel_name=private-foobar".utf8), .badRequest, contentType: contentType)
    }

    @Test("a JSON body that is not one object of strings is 400", arguments: [
        #"["socket_id"]"#, #"{"socket_id":{"a":1},"channel_name":"private-foobar"}"#, "{", "",
        #"{"socket_id":"1.2","channel_name":"private-foobar","channel_name":"private-user-u1"}"#,
    ])
    func badJSON(body: String) async throws {
        try await expectRaw(Array(body.utf8), .badRequest, contentType: "application/json")
    }

    @Test("a user_info claim over 1024 bytes is 400 on presence; 1024 bytes pass")
    func userInfoTooLarge() async throws {
        // {"n":"…"} is 8 bytes of JSON around the value.
        let fits = try Fixtures.token(extra: ["user_info": .object(["n": .string(String(repeating: "x", count: 1016))])])
        let tooLarge = try Fixtures.token(extra: ["user_info": .object(["n": .string(String(repeating: "x", count: 1017))])])
        let fields: KeyValuePairs = ["socket_id": "1.2", "channel_name": "presence-room"]
        try await expectFields(fields, .badRequest, token: tooLarge)
        try await TestServer.pusher().run { client in
            let status = try await client.post(fields, token: fits).status
            #expect(status == .ok)
        }
    }

    @Test("a user_info claim that is not an object is 400")
    func userInfoNotObject() async throws {
        let token = try Fixtures.token(extra: ["user_info": .string("Ann")])
        try await expectFields(["socket_id": "1.2", "channel_name": "presence-room"], .badRequest, token: token)
    }

    @Test("a sub longer than 128 characters is 400 on presence and user-auth; 128 pass")
    func userIDTooLong() async throws {
        let long = try Fixtures.token(sub: String(repeating: "u", count: 129))
        let fits = try Fixtures.token(sub: String(repeating: "u", count: 128))
        try await expectFields(["socket_id": "1.2", "channel_name": "presence-room"], .badRequest, token: long)
        try await TestServer.pusher().run { client in
            expectRefusal(try await client.post(["socket_id": "1.2"], to: "/pusher/user-auth", token: long), .badRequest, secrets: [long])
            let status = try await client.post(["socket_id": "1.2", "channel_name": "presence-room"], token: fits).status
            #expect(status == .ok)
        }
    }
}
