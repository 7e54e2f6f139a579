import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// The relay's subscribe and batch calls answered on the event loop (`FastPathHandler`, memory store) against the
/// same calls through the router: identical status, body, headers, events and metrics, refusals included; and the
/// shapes the fast path does not serve still reach the router. (Every other relay test runs over a live socket too,
/// so they all go through the fast path where it applies.)
@Suite struct RelayFastPathTests {
    static let token = "Bearer \(RelayFixtures.token)"
    static let origin = "https://app.example.com"

    static func post(_ path: String, _ body: String, authorization: String? = token, extra: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nHost: usher\r\n" + (authorization.map { "Authorization: \($0)\r\n" } ?? "") + extra
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    static let subscribePath = "/relay/v1/apps/\(Fixtures.appID)/subscriptions"

    /// A subscribe call of `socket` joining presence-room as `user`.
    static func subscribe(socket: String, user: String, extra: String = "") throws -> String {
        post(subscribePath, try RelayFixtures.presence(socket: socket, user: user), extra: extra)
    }

    static func requests() throws -> [String] {
        let subscribe = subscribePath
        let ann = try RelayFixtures.presence(socket: "1.1", user: "ann", info: .object(["n": .integer(1)]))
        let bob = try RelayFixtures.presence(socket: "2.1", user: "bob")
        let forged = RelayFixtures.subscribe(socket: "9.9", channel: "private-x", auth: "\(Fixtures.appKey):" + String(repeating: "0", count: 64))
        let join = Self.join
        let batch = JSONValue.object(["ops": .array([try join("3.1", "cy"), try join("3.2", "cy"), .object(["op": .string("leave")])])]).jsonText
        let tooMany = JSONValue.object(["ops": .array(Array(repeating: .object(["op": .string("disconnect")]), count: 1001))]).jsonText
        let tooLarge = #"{"ops":[],"pad":""# + String(repeating: "x", count: 1 << 20) + #""}"#
        return [
            post(subscribe, ann, extra: "Origin: \(origin)\r\n"),
            post(subscribe, ann),  // a retry
            post(subscribe, bob, authorization: "bearer \(RelayFixtures.token)"),
            post(subscribe, forged),
            post(subscribe, ann, authorization: nil),
            post(subscribe, ann, authorization: "Bearer not-the-token"),
            post(subscribe, "{not json"),
            post(subscribe, #"{"node":"r1"}"#),
            post("/relay/v1/apps/999/subscriptions", bob),
            post("/relay/v1/nodes/r1/batch", batch),
            post("/relay/v1/nodes/r1/batch", "[]"),
            post("/relay/v1/nodes/r1/batch", tooMany),
            post("/relay/v1/nodes/r1/batch", tooLarge),
            post("/relay/v1/nodes/r%31/batch", batch),  // percent-encoded: handed to the router
            post("/relay/v1/nodes/r1/batch", batch, authorization: nil),
        ]
    }

    /// A batch op joining `user` to presence-room on `socket`.
    static func join(socket: String, user: String) throws -> JSONValue {
        guard case .object(var op) = try JSONValue.parse(try RelayFixtures.presence(socket: socket, user: user)) else { throw CancellationError() }
        op["node"] = nil
        op["op"] = .string("join")
        op["app"] = .string(Fixtures.appID)
        return .object(op)
    }

    @Test("the router answers every relay call exactly as the fast path does: status, body, headers, events, metrics")
    func routerAgrees() async throws {
        let requests = try Self.requests()
        let fast = try RelayServer()
        let routed = try RelayServer()
        let fastAnswers = try await Self.answers(fast, requests, throughRouter: false)
        let routedAnswers = try await Self.answers(routed, requests, throughRouter: true)
        #expect(fastAnswers.count == requests.count)
        for (index, (fastAnswer, routedAnswer)) in zip(fastAnswers, routedAnswers).enumerated() {
            #expect(fastAnswer.status == routedAnswer.status, "request \(index)")
            #expect(fastAnswer.body == routedAnswer.body, "request \(index)")
            for name in ["content-type", "access-control-allow-origin", "vary", "www-authenticate"] {
                #expect(fastAnswer.headers[name] == routedAnswer.headers[name], "\(name) of request \(index)")
            }
        }
        #expect(Set(fastAnswers.map(\.status)) == [200, 400, 401, 403, 404, 413])
        // The fast path did serve them (it names the server; this test application's router does not), except the
        // body over 1 MiB and the percent-encoded path, which it hands to the router.
        let servedFast = fastAnswers.enumerated().filter { $0.element.headers["server"] == "usher" }.map(\.offset)
        #expect(servedFast == Array(0..<requests.count).filter { ![12, 13].contains($0) })
        #expect(routedAnswers.allSatisfy { $0.headers["server"] == nil })
        #expect(fast.logged() == routed.logged())
        #expect(fast.logged() == ["channel_occupied presence-room", "member_added ann", "member_added bob", "member_added cy"])
        #expect(fast.components.metrics.relayRequestLines() == routed.components.metrics.relayRequestLines())
        #expect(fast.components.metrics.relayRequestLines().contains(#"usher_http_requests_total{route="/relay/v1/nodes/{node}/batch",status="401"} 1"#))
    }

    @Test("answers larger than the head's buffer (sent as a buffer of their own) arrive whole, also as a connection's last")
    func largeAnswers() async throws {
        // 40 joins: each result carries the member list so far, so the answer is far over `maxInlineBody`.
        let ops = try (1...40).map { try Self.join(socket: "5.\($0)", user: "user-\($0)") }
        let batch = JSONValue.object(["ops": .array(ops)]).jsonText
        let requests = [
            Self.post("/relay/v1/nodes/r1/batch", batch),
            // The same ops again (all repeats, each answering the full list), as the connection's last answer.
            Self.post("/relay/v1/nodes/r1/batch", batch, extra: "Connection: close\r\n"),
        ]
        let fastAnswers = try await Self.answers(try RelayServer(), requests, throughRouter: false)
        let routedAnswers = try await Self.answers(try RelayServer(), requests, throughRouter: true)
        #expect(fastAnswers.map(\.status) == [200, 200])
        #expect(fastAnswers.allSatisfy { $0.headers["server"] == "usher" })
        #expect(fastAnswers.map(\.body) == routedAnswers.map(\.body))
        #expect(fastAnswers.allSatisfy { $0.body.utf8.count > 4 * FastPathHandler.maxInlineBody })
        #expect(fastAnswers[1].headers["connection"] == "close")
        guard case .array(let results)? = try JSONValue.parse(fastAnswers[1].body)["results"], let last = results.last else {
            Issue.record("not a batch answer")
            return
        }
        #expect(results.count == 40)
        #expect(last["presence"]?["count"] == .integer(40))
        #expect(last["member_added"] == .bool(false))
    }

    /// Sends each request on its own connection: as it is, or behind a request that hands the connection to the router.
    static func answers(_ server: RelayServer, _ requests: [String], throughRouter: Bool) async throws -> [RawConnection.Answer] {
        let answers = Mutex<[RawConnection.Answer]>([])
        try await server.run(.live) { client in
            let port = try #require(client.client.port)
            for request in requests {
                let connection = try RawConnection(port: port)
                defer { connection.close() }
                try await connection.send((throughRouter ? "GET /healthz HTTP/1.1\r\nHost: usher\r\n\r\n" : "") + request)
                let answer = try #require(try await connection.readResponses(count: throughRouter ? 2 : 1).last)
                answers.withLock { $0.append(answer) }
            }
        }
        return answers.withLock { $0 }
    }

    @Test("pipelined relay calls are answered in order, whichever path serves each")
    func pipelinedOrder() async throws {
        let server = try RelayServer()
        try await server.run(.live) { client in
            let connection = try RawConnection(port: try #require(client.client.port))
            defer { connection.close() }
            let requests = [
                try Self.subscribe(socket: "1.1", user: "ann"),
                try Self.subscribe(socket: "1.2", user: "bob"),
                "GET /relay/v1/apps/\(Fixtures.appID)/presence/presence-room HTTP/1.1\r\nHost: usher\r\nAuthorization: \(Self.token)\r\n\r\n",
                try Self.subscribe(socket: "1.3", user: "cy"),
            ]
            try await connection.send(requests.joined())
            let answers = try await connection.readResponses(count: requests.count)
            #expect(answers.map(\.status) == [200, 200, 200, 200])
            #expect(answers.map { $0.body.contains(#""member_added":true"#) } == [true, true, false, true])
            #expect(answers[2].body.contains(#""count":2"#))
            #expect(answers[3].body.contains(#""count":3"#))
        }
    }
}

extension UsherMetrics {
    /// The request counters of relay routes, in the exposition format.
    func relayRequestLines() -> [String] {
        exposition().split(separator: "\n").map(String.init).filter { $0.hasPrefix(#"usher_http_requests_total{route="/relay"#) }.sorted()
    }
}
