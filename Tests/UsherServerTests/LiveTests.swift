import Hummingbird
import HummingbirdTesting
import Testing
@testable import UsherServer

/// Over a real socket (AsyncHTTPClient, which reconnects), where NIO's HTTP parser sees the bytes first.
@Suite struct LiveTests {
    @Test("a 9 MB bearer header over a real socket is a 4xx, and the server keeps serving")
    func hugeHeader() async throws {
        let huge = try Fixtures.token() + String(repeating: "A", count: 9 * 1024 * 1024)
        let token = try Fixtures.token()
        let fields: KeyValuePairs = ["socket_id": "1234.1234", "channel_name": "private-foobar"]
        try await TestServer.pusher().run(.ahc(.http)) { client in
            let refused = try await client.post(fields, token: huge)
            #expect((400..<500).contains(refused.status.code))
            #expect(!refused.text.contains(huge))
            let response = try await client.post(fields, token: token)
            #expect(response.status == .ok)
            #expect(response.fields["auth"]?.hasSuffix(":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4") == true)
        }
    }

    @Test("a body over 16 KiB over a real socket is 413 with a JSON error")
    func largeBody() async throws {
        let token = try Fixtures.token()
        let padding = String(repeating: "x", count: 64 * 1024)
        try await TestServer.pusher().run(.ahc(.http)) { client in
            let response = try await client.post(["socket_id": "1.2", "channel_name": "private-foobar", "pad": padding], token: token)
            expectRefusal(response, .contentTooLarge, secrets: [token])
        }
    }
}
