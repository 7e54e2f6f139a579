import Foundation
import Hummingbird
import Synchronization
import HummingbirdTesting
import Testing
@testable import UsherServer

#if canImport(Glibc)
import Glibc
#endif

/// The fast path for `POST /pusher/auth` (`FastPathHandler`) over raw keep-alive connections: answers stay in
/// request order when other requests hand the connection to the router, the router answers exactly as the fast path
/// does, and the connection duties it takes over from the HTTP pipeline (idle timeout, `Connection: close`, graceful
/// shutdown) still happen. (Every other auth test runs over a live socket too, so they all go through the fast path.)
@Suite struct AuthFastPathTests {
    static let auth = "socket_id=1234.1234&channel_name=private-foobar"
    static let origin = "https://app.example.com"

    static func post(_ body: String, token: String, path: String = "/pusher/auth", extra: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nHost: usher\r\nAuthorization: Bearer \(token)\r\n\(extra)"
            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    @Test("pipelined requests are answered in order, whichever path serves each")
    func pipelinedOrder() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let connection = try RawConnection(port: try #require(client.port))
            defer { connection.close() }
            // auth (fast), health (hands over to the router), then auth, unknown path, auth through the router.
            let requests = [
                Self.post(Self.auth, token: token),
                "GET /healthz HTTP/1.1\r\nHost: usher\r\n\r\n",
                Self.post(Self.auth, token: token),
                "GET /nope HTTP/1.1\r\nHost: usher\r\n\r\n",
                Self.post("socket_id=1234.1234&channel_name=presence-a", token: token),
            ]
            try await connection.send(requests.joined())
            let answers = try await connection.readResponses(count: requests.count)
            #expect(answers.map(\.status) == [200, 200, 200, 404, 200])
            #expect(answers[0].body.contains(":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"))
            #expect(answers[1].body == #"{"status":"ok"}"#)
            #expect(answers[2].body == answers[0].body)
            #expect(answers[4].body.contains("channel_data"))
        }
    }

    @Test("many auth requests in one write, or arriving a byte at a time, are each answered in order")
    func batchedAndSplit() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let connection = try RawConnection(port: try #require(client.port))
            defer { connection.close() }
            let channels = (0..<20).map { "presence-c\($0)" }
            try await connection.send(channels.map { Self.post("socket_id=1.2&channel_name=\($0)", token: token) }.joined())
            let answers = try await connection.readResponses(count: channels.count)
            #expect(answers.allSatisfy { $0.status == 200 })
            #expect(Set(answers.map(\.body)).count == channels.count)  // each signed its own channel
            for byte in Self.post(Self.auth, token: token).utf8 { try await connection.send(String(UnicodeScalar(byte))) }
            let split = try await connection.readResponses(count: 1)
            #expect(split.first?.status == 200)
            #expect(split.first?.body.contains(":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4") == true)
        }
    }

    @Test("the router answers each auth request exactly as the fast path does: status, body, CORS and auth headers")
    func routerAgrees() async throws {
        let token = try Fixtures.token()
        let cases = [
            Self.post(Self.auth, token: token, extra: "Origin: \(Self.origin)\r\n"),
            Self.post("socket_id=1234.1234&channel_name=presence-a", token: token),
            Self.post(Self.auth, token: "not.a.token", extra: "Origin: https://elsewhere.example\r\n"),
            Self.post("socket_id=1234.1234", token: token),
            Self.post(Self.auth, token: token, path: "/pusher/auth?app_key=unknown"),
            "POST /pusher/auth HTTP/1.1\r\nHost: usher\r\nContent-Length: \(Self.auth.utf8.count)\r\n\r\n\(Self.auth)",
        ]
        try await TestServer.pusher(origins: [Self.origin]).run { client in
            let port = try #require(client.port)
            for request in cases {
                let fast = try RawConnection(port: port)
                let routed = try RawConnection(port: port)
                defer { fast.close(); routed.close() }
                try await fast.send(request)
                try await routed.send("GET /healthz HTTP/1.1\r\nHost: usher\r\n\r\n" + request)
                let fastAnswer = try #require(try await fast.readResponses(count: 1).first)
                let routedAnswer = try #require(try await routed.readResponses(count: 2).last)
                #expect(fastAnswer.status == routedAnswer.status, "\(request)")
                #expect(fastAnswer.body == routedAnswer.body, "\(request)")
                for name in ["content-type", "access-control-allow-origin", "vary", "www-authenticate"] {
                    #expect(fastAnswer.headers[name] == routedAnswer.headers[name], "\(name) for \(request)")
                }
            }
        }
    }

    @Test(
        "requests the fast path does not serve go to NIO's parser, which decides them",
        arguments: [
            ("chunked", "POST /pusher/auth HTTP/1.1\r\nHost: u\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n2f\r\nsocket_id=1234.1234&channel_name=private-foobar\r\n0\r\n\r\n", 401),
            ("obs-fold", "POST /pusher/auth HTTP/1.1\r\nHost: u\r\nX-A: 1\r\n 2\r\nContent-Length: 0\r\n\r\n", 400),
            ("bare LF", "POST /pusher/auth HTTP/1.1\nHost: u\nContent-Length: 47\n\nsocket_id=1234.1234&channel_name=private-foobar", 400),
            ("two lengths", "POST /pusher/auth HTTP/1.1\r\nHost: u\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
            ("HTTP/1.0", "POST /pusher/auth HTTP/1.0\r\nContent-Length: 47\r\n\r\nsocket_id=1234.1234&channel_name=private-foobar", 401),
        ] as [(String, String, Int)]
    )
    func handedOver(name: String, request: String, status: Int) async throws {
        try await TestServer.pusher().run { client in
            let connection = try RawConnection(port: try #require(client.port))
            defer { connection.close() }
            try await connection.send(request)
            let answer = try await connection.readResponses(count: 1).first
            #expect(answer?.status == status, "\(name)")
        }
    }

    @Test("Connection: close is answered, then the connection is closed")
    func connectionClose() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let connection = try RawConnection(port: try #require(client.port))
            defer { connection.close() }
            try await connection.send(Self.post(Self.auth, token: token, extra: "Connection: close\r\n") + Self.post(Self.auth, token: token))
            let answer = try #require(try await connection.readResponses(count: 1).first)
            #expect(answer.status == 200)
            #expect(answer.headers["connection"] == "close")
            #expect(try await connection.isClosedByPeer())
        }
    }

    @Test("a connection busy with fast-path requests is not idle; a quiet one is closed")
    func idleTimeout() async throws {
        let token = try Fixtures.token()
        var server = try TestServer.pusher()
        // 3 s: a loaded CI machine can stall a request by a second or two, which must not look like idleness.
        server.idleTimeout = .seconds(3)
        try await server.run { client in
            let connection = try RawConnection(port: try #require(client.port))
            defer { connection.close() }
            // 4.5 s of requests, one every 100 ms: longer than the timeout in all, far shorter between requests.
            for _ in 0..<45 {
                try await connection.send(Self.post(Self.auth, token: token))
                #expect(try await connection.readResponses(count: 1).first?.status == 200)
                try await Task.sleep(for: .milliseconds(100))
            }
            try await Task.sleep(for: .seconds(7))
            #expect(try await connection.isClosedByPeer())
        }
    }

    @Test("graceful shutdown closes a fast-path connection between requests (no idle timeout to fall back on)", .timeLimit(.minutes(1)))
    func shutdownClosesConnection() async throws {
        let token = try Fixtures.token()
        let server = try TestServer.pusher()  // idleTimeout nil: if the fast path ignored the shutdown, `run` would never end
        let kept = Mutex<RawConnection?>(nil)
        try await server.run { client in
            let connection = try RawConnection(port: try #require(client.port))
            kept.withLock { $0 = connection }
            try await connection.send(Self.post(Self.auth, token: token))
            #expect(try await connection.readResponses(count: 1).first?.status == 200)
        }
        let connection = try #require(kept.withLock { $0 })
        defer { connection.close() }
        #expect(try await connection.isClosedByPeer())
    }

    @Test("graceful shutdown does not wait for a request whose head has not arrived", .timeLimit(.minutes(1)))
    func shutdownWithPartialHead() async throws {
        let server = try TestServer.pusher()  // no idle timeout: waiting for the rest of the head would never end
        let kept = Mutex<RawConnection?>(nil)
        try await server.run { client in
            let connection = try RawConnection(port: try #require(client.port))
            kept.withLock { $0 = connection }
            try await connection.send("POST /pusher/au")
            try await Task.sleep(for: .milliseconds(300))  // so the server holds the half head when it shuts down
        }
        let connection = try #require(kept.withLock { $0 })
        defer { connection.close() }
        #expect(try await connection.isClosedByPeer())
    }

    @Test("a client that half-closes after pipelining gets every answer, then the close")
    func halfClose() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let connection = try RawConnection(port: try #require(client.port))
            defer { connection.close() }
            try await connection.send(String(repeating: Self.post(Self.auth, token: token), count: 10))
            connection.shutdownWrite()
            let answers = try await connection.readResponses(count: 10)
            #expect(answers.map(\.status) == Array(repeating: 200, count: 10))
            #expect(try await connection.isClosedByPeer())
        }
    }

    @Test("an oversized body is drained and refused with 413, and the connection keeps serving")
    func oversizedBody() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let connection = try RawConnection(port: try #require(client.port))
            defer { connection.close() }
            let padding = String(repeating: "x", count: 40 * 1024)
            try await connection.send(Self.post(Self.auth + "&pad=" + padding, token: token) + Self.post(Self.auth, token: token))
            let answers = try await connection.readResponses(count: 2)
            #expect(answers.map(\.status) == [413, 200])
            #expect(answers[0].body == #"{"error":"request body too large"}"#)
        }
    }
}

/// A loopback TCP connection that speaks just enough HTTP/1.1 to read `Content-Length` responses.
///
/// Its socket calls block, so each runs on a thread of its own: blocking the cooperative pool (two threads on a
/// 2-core machine) would starve the server's router tasks while a test waits for their answers.
final class RawConnection: @unchecked Sendable {
    struct Answer: Sendable {
        var status: Int
        /// Lowercased names; repeated fields joined with ", ".
        var headers: [String: String]
        var body: String
    }

    private let fd: Int32
    private var pending = [UInt8]()

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    func send(_ text: String) async throws {
        try await Self.offPool { try self.sendBlocking(text) }
    }

    func readResponses(count: Int) async throws -> [Answer] {
        try await Self.offPool { try self.readResponsesBlocking(count: count) }
    }

    /// True when the server has closed the connection: a read returns end of file, or a reset (the kernel resets
    /// instead when the server closes with bytes it had not read yet).
    func isClosedByPeer() async throws -> Bool {
        try await Self.offPool {
            do { return try !self.receive() } catch let error as POSIXError where error.code == .ECONNRESET { return true }
        }
    }

    private static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    private func sendBlocking(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw POSIXError(.EPIPE) }
            bytes = bytes.dropFirst(sent)
        }
    }

    private func readResponsesBlocking(count: Int) throws -> [Answer] {
        var answers = [Answer]()
        while answers.count < count {
            if let answer = takeResponse() {
                answers.append(answer)
            } else if try !receive() {
                throw POSIXError(.ECONNRESET)
            }
        }
        return answers
    }

    func close() { _ = Glibc.close(fd) }

    /// Tells the server this side sends nothing more (TCP half-close).
    func shutdownWrite() { _ = shutdown(fd, Int32(SHUT_WR)) }

    private func receive() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count >= 0 else { throw POSIXError(errno == ECONNRESET ? .ECONNRESET : .ETIMEDOUT) }
        pending += buffer[..<count]
        return count > 0
    }

    private func takeResponse() -> Answer? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = pending.indices.dropLast(3).first(where: { Array(pending[$0..<$0 + 4]) == separator }) else { return nil }
        let head = String(decoding: pending[..<end], as: UTF8.self).split(separator: "\r\n")
        var headers = [String: String]()
        for line in head.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].lowercased(), value = parts[1].trimmingCharacters(in: .whitespaces)
            headers[name] = headers[name].map { "\($0), \(value)" } ?? value
        }
        let length = headers["content-length"].flatMap { Int($0) } ?? 0
        guard pending.count >= end + 4 + length else { return nil }
        let status = Int(head.first?.split(separator: " ")[1] ?? "") ?? 0
        let body = String(decoding: pending[(end + 4)..<(end + 4 + length)], as: UTF8.self)
        pending.removeFirst(end + 4 + length)
        return Answer(status: status, headers: headers, body: body)
    }
}
