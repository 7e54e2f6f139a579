import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import UsherServer

#if canImport(Glibc)
import Glibc
#endif

/// The event-loop fast path for `POST /pusher/auth` (`AuthFastPathHandler`) on one raw keep-alive connection:
/// answers stay in request order when router requests are pipelined around it, and the idle timeout still sees it.
/// (Every other auth test runs over a live socket too, so they all go through the fast path.)
@Suite struct AuthFastPathTests {
    static let auth = "socket_id=1234.1234&channel_name=private-foobar"

    static func post(_ body: String, token: String, path: String = "/pusher/auth") -> String {
        "POST \(path) HTTP/1.1\r\nHost: usher\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    @Test("pipelined requests are answered in order, whichever path serves each")
    func pipelinedOrder() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let connection = try RawConnection(port: try #require(client.port))
            defer { connection.close() }
            // auth (fast), health (router), auth while the router answer may still be pending, unknown path, auth.
            let requests = [
                Self.post(Self.auth, token: token),
                "GET /healthz HTTP/1.1\r\nHost: usher\r\n\r\n",
                Self.post(Self.auth, token: token),
                "GET /nope HTTP/1.1\r\nHost: usher\r\n\r\n",
                Self.post("socket_id=1234.1234&channel_name=presence-a", token: token),
            ]
            try connection.send(requests.joined())
            let answers = try connection.readResponses(count: requests.count)
            #expect(answers.map(\.status) == [200, 200, 200, 404, 200])
            #expect(answers[0].body.contains(":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"))
            #expect(answers[1].body == #"{"status":"ok"}"#)
            #expect(answers[2].body == answers[0].body)
            #expect(answers[4].body.contains("channel_data"))
        }
    }

    @Test("a connection busy with fast-path requests is not idle; a quiet one is closed")
    func idleTimeout() async throws {
        let token = try Fixtures.token()
        var server = try TestServer.pusher()
        server.idleTimeout = .seconds(2)
        try await server.run { client in
            let connection = try RawConnection(port: try #require(client.port))
            defer { connection.close() }
            // 3 s of requests, one every 100 ms: longer than the timeout in all, far shorter between requests.
            for _ in 0..<30 {
                try connection.send(Self.post(Self.auth, token: token))
                #expect(try connection.readResponses(count: 1).first?.status == 200)
                try await Task.sleep(for: .milliseconds(100))
            }
            try await Task.sleep(for: .seconds(5))
            #expect(connection.isClosedByPeer())
        }
    }

    @Test("an oversized body is drained and refused with 413, and the connection keeps serving")
    func oversizedBody() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let connection = try RawConnection(port: try #require(client.port))
            defer { connection.close() }
            let padding = String(repeating: "x", count: 40 * 1024)
            try connection.send(Self.post(Self.auth + "&pad=" + padding, token: token) + Self.post(Self.auth, token: token))
            let answers = try connection.readResponses(count: 2)
            #expect(answers.map(\.status) == [413, 200])
            #expect(answers[0].body == #"{"error":"request body too large"}"#)
        }
    }
}

/// A blocking loopback TCP connection that speaks just enough HTTP/1.1 to read `Content-Length` responses.
final class RawConnection {
    struct Answer {
        var status: Int
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

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw POSIXError(.EPIPE) }
            bytes = bytes.dropFirst(sent)
        }
    }

    func readResponses(count: Int) throws -> [Answer] {
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

    /// True when the server has closed its side (a read returns end of file).
    func isClosedByPeer() -> Bool {
        (try? receive()) == false
    }

    func close() { _ = Glibc.close(fd) }

    private func receive() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count >= 0 else { throw POSIXError(.ETIMEDOUT) }
        pending += buffer[..<count]
        return count > 0
    }

    private func takeResponse() -> Answer? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = pending.indices.dropLast(3).first(where: { Array(pending[$0..<$0 + 4]) == separator }) else { return nil }
        let head = String(decoding: pending[..<end], as: UTF8.self).split(separator: "\r\n")
        let length = head.dropFirst().compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            return parts.count == 2 && parts[0].lowercased() == "content-length" ? Int(parts[1].trimmingCharacters(in: .whitespaces)) : nil
        }.first ?? 0
        guard pending.count >= end + 4 + length else { return nil }
        let status = Int(head.first?.split(separator: " ")[1] ?? "") ?? 0
        let body = String(decoding: pending[(end + 4)..<(end + 4 + length)], as: UTF8.self)
        pending.removeFirst(end + 4 + length)
        return Answer(status: status, body: body)
    }
}
