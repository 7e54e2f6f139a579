import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// Successful authorizations through HTTP, checked against the PUSHER-PROTOCOL.md §11 vectors where one exists.
@Suite struct AuthHappyPathTests {
    @Test("a private channel answers exactly 200 with the V1 known-answer body")
    func privateKnownAnswer() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let response = try await client.post(["socket_id": "1234.1234", "channel_name": "private-foobar"], token: token)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            #expect(response.text == #"{"auth":"278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"}"#)
        }
    }

    @Test("a presence channel signs the channel_data built from sub (V5 known answer)")
    func presenceKnownAnswer() async throws {
        let token = try Fixtures.token(sub: "42")
        try await TestServer.pusher().run { client in
            let response = try await client.post(["socket_id": "123.456", "channel_name": "presence-room"], token: token)
            #expect(response.status == .ok)
            #expect(
                response.text
                    == #"{"auth":"278d425bdf160c739803:df99d5bde6eaa860dcc76115393e46448962d93c6727592479b34fd932390dcc","channel_data":"{\"user_id\":\"42\"}"}"#
            )
        }
    }

    @Test("presence channel_data carries the user_info claim and its auth verifies over socket:channel:channel_data")
    func presenceWithUserInfo() async throws {
        let token = try Fixtures.token(sub: "42", extra: ["user_info": .object(["name": .string("Zoë")])])
        try await TestServer.pusher().run { client in
            let response = try await client.post(["socket_id": "1234.1234", "channel_name": "presence-room"], token: token)
            #expect(response.status == .ok)
            let fields = response.fields
            let channelData = try #require(fields["channel_data"])
            #expect(channelData == #"{"user_id":"42","user_info":{"name":"Zoë"}}"#)
            let mac = HMACKey(secret: Fixtures.appSecret).hexMAC("1234.1234:presence-room:" + channelData)
            #expect(fields["auth"] == "\(Fixtures.appKey):\(mac)")
            #expect(fields.count == 2)
        }
    }

    @Test("an encrypted channel adds the shared_secret (V8 known answer)")
    func encryptedKnownAnswer() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let response = try await client.post(
                ["socket_id": "1234.1234", "channel_name": "private-encrypted-foobar"], token: token
            )
            #expect(response.status == .ok)
            #expect(response.fields == [
                "auth": "278d425bdf160c739803:e6a18892d037c5d5e76a2265df4f086ffc38631605530dfd214aa5bff495f533",
                "shared_secret": "Uedy6frF2/3cz/oMziDQ0pGdahMvE50/N0xZ8eKYEIg=",
            ])
        }
    }

    @Test("user authentication answers auth and user_data (V7 known answer)")
    func userAuthKnownAnswer() async throws {
        let token = try Fixtures.token(sub: "12345")
        try await TestServer.pusher().run { client in
            let response = try await client.post(["socket_id": "1234.1234"], to: "/pusher/user-auth", token: token)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            #expect(
                response.text
                    == #"{"auth":"278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba","user_data":"{\"id\":\"12345\"}"}"#
            )
        }
    }

    @Test("user authentication carries user_info and watchlist claims into the signed user_data")
    func userAuthWithClaims() async throws {
        let token = try Fixtures.token(
            sub: "7", extra: ["user_info": .object(["name": .string("Bo")]), "watchlist": .array([.string("8"), .string("9")])]
        )
        try await TestServer.pusher().run { client in
            let response = try await client.post(["socket_id": "1.2"], to: "/pusher/user-auth", token: token)
            #expect(response.status == .ok)
            let userData = try #require(response.fields["user_data"])
            #expect(userData == #"{"id":"7","user_info":{"name":"Bo"},"watchlist":["8","9"]}"#)
            let mac = HMACKey(secret: Fixtures.appSecret).hexMAC("1.2::user::" + userData)
            #expect(response.fields["auth"] == "\(Fixtures.appKey):\(mac)")
        }
    }

    @Test("the {sub} rule allows the caller's own channel only")
    func subTemplate() async throws {
        let token = try Fixtures.token(sub: "ann")
        try await TestServer.pusher().run { client in
            let own = try await client.post(["socket_id": "1.2", "channel_name": "private-user-ann"], token: token)
            #expect(own.status == .ok)
            let other = try await client.post(["socket_id": "1.2", "channel_name": "private-user-bob"], token: token)
            expectRefusal(other, .forbidden, secrets: [token])
        }
    }

    @Test("a channel name of exactly 200 characters is accepted")
    func longestChannelName() async throws {
        let channel = "presence-" + String(repeating: "a", count: 191)
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let response = try await client.post(["socket_id": "1.2", "channel_name": channel], token: token)
            #expect(response.status == .ok)
        }
    }

    @Test("a percent-encoded channel name is decoded before it is signed")
    func percentEncodedNames() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let response = try await client.execute(
                uri: "/pusher/auth", method: .post, headers: AuthRequest.headers(token: token),
                body: ByteBuffer(string: "socket_id=1234%2E1234&channel_name=private%2Dfoobar")
            )
            #expect(response.status == .ok)
            #expect(response.fields["auth"]?.hasSuffix(":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4") == true)
        }
    }
}
