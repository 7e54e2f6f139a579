import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import UsherCore
import UsherCrypto
import UsherStorePostgres
import UsherTestSupport
@testable import UsherServer

/// The relay's subscribe and batch calls on the fast path when the store suspends (PostgreSQL): checked on the event
/// loop, applied off it, answered back on it — the same answers as the router's, in request order, with pipelined
/// requests kept waiting behind a call in flight. Needs the cluster `USHER_TEST_POSTGRES_URL` names.
@Suite(.enabled(if: TestPostgres.url != nil, Comment(rawValue: TestPostgres.skipReason)))
struct RelayFastPathPostgresTests {
    @Test("on PostgreSQL the fast path answers every relay call exactly as the router does, and logs the same events")
    func routerAgrees() async throws {
        let requests = try RelayFastPathTests.requests()
        let fast = try await Self.answers(requests, throughRouter: false)
        let routed = try await Self.answers(requests, throughRouter: true)
        #expect(fast.answers.count == requests.count)
        for (index, (fastAnswer, routedAnswer)) in zip(fast.answers, routed.answers).enumerated() {
            #expect(fastAnswer.status == routedAnswer.status, "request \(index)")
            #expect(fastAnswer.body == routedAnswer.body, "request \(index)")
            for name in ["content-type", "access-control-allow-origin", "vary", "www-authenticate"] {
                #expect(fastAnswer.headers[name] == routedAnswer.headers[name], "\(name) of request \(index)")
            }
        }
        #expect(Set(fast.answers.map(\.status)) == [200, 400, 401, 403, 404, 413])
        // Served by the fast path (it names the server), but for the body over 1 MiB and the percent-encoded path.
        let servedFast = fast.answers.enumerated().filter { $0.element.headers["server"] == "usher" }.map(\.offset)
        #expect(servedFast == Array(0..<requests.count).filter { ![12, 13].contains($0) })
        #expect(fast.logged == routed.logged)
        #expect(fast.logged == ["channel_occupied presence-room", "member_added ann", "member_added bob", "member_added cy"])
    }

    @Test("pipelined calls that await PostgreSQL are answered in order, router routes behind them included")
    func pipelinedOrder() async throws {
        try await Self.withConnection { connection, _ in
            let batch = JSONValue.object(["ops": .array([try RelayFastPathTests.join(socket: "1.4", user: "dee")])]).jsonText
            let requests = [
                try RelayFastPathTests.subscribe(socket: "1.1", user: "ann"),
                try RelayFastPathTests.subscribe(socket: "1.2", user: "bob"),
                RelayFastPathTests.post("/relay/v1/nodes/r1/batch", batch),
                RelayFastPathTests.post(RelayFastPathTests.subscribePath, "{not json"),
                "GET /relay/v1/apps/\(Fixtures.appID)/presence/presence-room HTTP/1.1\r\nHost: usher\r\n"
                    + "Authorization: \(RelayFastPathTests.token)\r\n\r\n",
                try RelayFastPathTests.subscribe(socket: "1.3", user: "cy"),
            ]
            try await connection.send(requests.joined())
            let answers = try await connection.readResponses(count: requests.count)
            #expect(answers.map(\.status) == [200, 200, 200, 400, 200, 200])
            #expect(answers.map { $0.body.contains(#""member_added":true"#) } == [true, true, true, false, false, true])
            #expect(answers[1].body.contains(#""count":2"#))
            #expect(answers[2].body.contains(#""count":3"#))
            #expect(answers[4].body.contains(#""count":3"#))
            #expect(answers[5].body.contains(#""count":4"#))
            #expect(answers.prefix(4).allSatisfy { $0.headers["server"] == "usher" })
        }
    }

    @Test("a client that half-closes behind calls awaiting PostgreSQL gets every answer, then the close")
    func halfClose() async throws {
        try await Self.withConnection { connection, _ in
            let requests = try (1...5).map { try RelayFastPathTests.subscribe(socket: "2.\($0)", user: "user-\($0)") }
            try await connection.send(requests.joined())
            connection.shutdownWrite()
            let answers = try await connection.readResponses(count: requests.count)
            #expect(answers.map(\.status) == Array(repeating: 200, count: 5))
            #expect(answers.last?.body.contains(#""count":5"#) == true)
            #expect(try await connection.isClosedByPeer())
        }
    }

    @Test("a call answered with Connection: close while it awaited PostgreSQL closes the connection after its answer")
    func closeAfterAwaitedCall() async throws {
        try await Self.withConnection { connection, store in
            // The second request is never answered: the first closes the connection.
            try await connection.send(
                RelayFastPathTests.subscribe(socket: "3.1", user: "ann", extra: "Connection: close\r\n")
                    + RelayFastPathTests.subscribe(socket: "3.2", user: "bob"))
            let answers = try await connection.readResponses(count: 1)
            #expect(answers.map(\.status) == [200])
            #expect(answers.first?.headers["connection"] == "close")
            #expect(try await connection.isClosedByPeer())
            #expect(try await store.members(app: Fixtures.appID, channel: "presence-room", withUserInfo: false).map(\.userID) == ["ann"])
        }
    }

    /// Sends each request on its own connection (behind a request that hands it to the router when `throughRouter`)
    /// to a server on a fresh database; returns the answers and the events logged.
    static func answers(_ requests: [String], throughRouter: Bool) async throws -> (answers: [RawConnection.Answer], logged: [String]) {
        try await withServer { port, store in
            var answers: [RawConnection.Answer] = []
            for request in requests {
                let connection = try RawConnection(port: port)
                defer { connection.close() }
                try await connection.send((throughRouter ? "GET /healthz HTTP/1.1\r\nHost: usher\r\n\r\n" : "") + request)
                answers.append(try #require(try await connection.readResponses(count: throughRouter ? 2 : 1).last))
            }
            guard case .events(let events) = try await store.events(after: 0, limit: 1000) else { return (answers, ["gap"]) }
            return (answers, events.map { "\($0.kind.rawValue) \($0.userID ?? $0.channel ?? "-")" })
        }
    }

    /// `withServer` with one connection to it.
    static func withConnection(_ body: @Sendable (RawConnection, PostgresPresenceStore) async throws -> Void) async throws {
        try await withServer { port, store in
            let connection = try RawConnection(port: port)
            defer { connection.close() }
            try await body(connection, store)
        }
    }

    /// Serves `RelayServer`'s apps over loopback with a PostgreSQL store on a fresh database, around `body`.
    static func withServer<Result: Sendable>(_ body: @Sendable (Int, PostgresPresenceStore) async throws -> Result) async throws -> Result {
        let fixture = try RelayServer()
        var settings = try PostgresPresenceStore.Configuration(url: try await TestPostgres.createDatabase(logger: Fixtures.quietLogger))
        settings.poolSize = 2
        // As PostgresTestDatabase does: the whole suite runs at once on two cores, and a 503 here would be a slow machine.
        settings.operationTimeout = .seconds(10)
        settings.presence = fixture.configuration.presence
        let store = PostgresPresenceStore(configuration: settings, logger: Fixtures.quietLogger)
        let components = ServerComponents(
            registry: fixture.components.registry, store: store, relayToken: fixture.components.relayToken, metrics: UsherMetrics(),
            signingKeys: fixture.components.signingKeys)
        let app = Application(
            router: buildRouter(configuration: fixture.configuration, components: components),
            server: buildHTTPServer(configuration: fixture.configuration, components: components, idleTimeout: nil, logger: Fixtures.quietLogger),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: Fixtures.quietLogger)
        let result = Mutex<Result?>(nil)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            defer { group.cancelAll() }
            try await app.test(.live) { client in
                let value = try await body(try #require(client.port), store)
                result.withLock { $0 = value }
            }
        }
        return try #require(result.withLock { $0 })
    }
}
