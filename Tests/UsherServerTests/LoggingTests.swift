import Hummingbird
import HummingbirdTesting
import Testing
import UsherCrypto
@testable import UsherServer

/// What reaches the logs: reasons, never tokens or secrets.
@Suite struct LoggingTests {
    @Test("refusals log their reason but never the token, the app secret or the identity secret")
    func noSecretsInLogs() async throws {
        let capture = LogCapture()
        var server = try TestServer.pusher()
        server.logger = capture.logger
        let tokens = [
            try Fixtures.token(extra: ["exp": .integer(Fixtures.now() - 3600)]),
            try Fixtures.token(secret: Array("a-different-secret-of-at-least-32-bytes".utf8)),
            try Fixtures.token(kid: "other"),
        ]
        let valid = try Fixtures.token()
        try await server.run { client in
            for token in tokens {
                let response = try await client.post(["socket_id": "1.2", "channel_name": "private-foobar"], token: token)
                #expect(response.status == .unauthorized)
            }
            let forbidden = try await client.post(["socket_id": "1.2", "channel_name": "private-unlisted"], token: valid)
            #expect(forbidden.status == .forbidden)
            let ok = try await client.post(["socket_id": "1.2", "channel_name": "private-foobar"], token: valid)
            #expect(ok.status == .ok)
        }
        let lines = capture.all
        #expect(lines.contains { $0.contains("identity token refused") && $0.contains("expired") })
        #expect(lines.contains { $0.contains("identity token refused") && $0.contains("signature") })
        #expect(lines.contains { $0.contains("channel refused by policy") && $0.contains("private-unlisted") })
        let identitySecret = String(decoding: Fixtures.identitySecret, as: UTF8.self)
        for secret in tokens + [valid, Fixtures.appSecret, identitySecret] {
            // A token's signature segment alone would already be a leak.
            let signature = String(secret.split(separator: ".").last ?? "")
            #expect(!lines.contains { $0.contains(secret) || $0.contains(signature) }, "\(lines)")
        }
    }
}
