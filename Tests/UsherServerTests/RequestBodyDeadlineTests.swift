import Synchronization
import Testing
@testable import UsherServer

/// The deadline on request bodies (`mod_reqtimeout`'s `body=…,MinRate=500`): a trickled body cannot hold a
/// connection; a large body sent at any real speed is never cut.
@Suite struct RequestBodyDeadlineTests {
    static func server(bodyTimeout: Duration = .milliseconds(600)) throws -> TestServer {
        var server = try TestServer.pusher()
        server.configuration.requestBodyTimeout = bodyTimeout
        return server
    }

    static func head(length: Int) -> String {
        "POST /apps/\(Fixtures.appID)/users/u1/terminate_connections HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(length)\r\n\r\n"
    }

    @Test("a body trickled a byte at a time is answered 408 and the connection closed")
    func trickledBody() async throws {
        try await Self.server().run { client in
            let connection = try RawConnection(port: try #require(client.port))
            defer { connection.close() }
            try await connection.send(Self.head(length: 400) + "{")
            let reading = Task { try await connection.readResponses(count: 1).first?.status }
            // Before the deadline, a byte every 200 ms kept the connection open for as long as the client liked.
            for _ in 0..<15 {
                try? await connection.send(" ")
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await reading.value == 408)
            #expect(try await connection.isClosedByPeer())
        }
    }

    /// Sent over twice the base timeout, so only the allowance each received byte earns keeps it going; the base is
    /// 2 s so that a loaded machine scheduling the client late cannot end it before its first piece.
    @Test("a 16 KiB body sent in 1 KiB pieces over 4 s (far above 500 bytes/s, past the 2 s base) is answered normally")
    func steadyLargeBody() async throws {
        try await Self.server(bodyTimeout: .seconds(2)).run { client in
            let connection = try RawConnection(port: try #require(client.port))
            defer { connection.close() }
            let length = 16 * 1024
            try await connection.send(Self.head(length: length))
            for _ in 0..<16 {
                try await connection.send(String(repeating: " ", count: 1024))
                try await Task.sleep(for: .milliseconds(250))
            }
            let status = try await connection.readResponses(count: 1).first?.status
            // An unsigned HTTP API call: refused for its signature, not for its pace.
            #expect(status == 401)
        }
    }
}
