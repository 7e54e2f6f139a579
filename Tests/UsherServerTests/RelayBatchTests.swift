import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// `POST /relay/v1/nodes/{node}/batch`: every op answers what its single call answers, events included, and the
/// limits refuse whole batches with nothing changed.
@Suite struct RelayBatchTests {
    /// One op, with the single call that does the same.
    struct Op {
        let json: JSONValue
        let method: HTTPRequest.Method
        let path: String
        let body: String?
    }

    static func join(_ subscribe: String, app: String = Fixtures.appID) throws -> Op {
        guard case .object(var fields) = try JSONValue.parse(subscribe) else { throw CancellationError() }
        fields["node"] = nil
        fields["op"] = .string("join")
        fields["app"] = .string(app)
        return Op(json: .object(fields), method: .post, path: "/relay/v1/apps/\(app)/subscriptions", body: subscribe)
    }

    static func leave(socket: String, channel: String) -> Op {
        let body = #"{"node":"r1","socket_id":"\#(socket)","channel":"\#(channel)"}"#
        return Op(
            json: .object(["op": .string("leave"), "app": .string(Fixtures.appID), "socket_id": .string(socket), "channel": .string(channel)]),
            method: .delete, path: "/relay/v1/apps/\(Fixtures.appID)/subscriptions", body: body)
    }

    static func disconnect(socket: String) -> Op {
        Op(
            json: .object(["op": .string("disconnect"), "app": .string(Fixtures.appID), "socket_id": .string(socket)]),
            method: .delete, path: "/relay/v1/apps/\(Fixtures.appID)/sockets/\(socket)", body: nil)
    }

    /// The answer with the presence `ids` sorted: listing order is not promised.
    static func unordered(_ answer: JSONValue) -> JSONValue {
        guard case .object(var fields) = answer, case .object(var presence)? = fields["presence"],
            case .array(let ids)? = presence["ids"]
        else { return answer }
        presence["ids"] = .array(ids.sorted { ($0.stringValue ?? "") < ($1.stringValue ?? "") })
        fields["presence"] = .object(presence)
        return .object(fields)
    }

    static func batch(_ ops: [Op]) -> String {
        JSONValue.object(["ops": .array(ops.map(\.json))]).jsonText
    }

    /// Joins (new members, a second tab, a retry, a full channel, a bad signature, an unknown app), leaves and
    /// disconnects in one order.
    static func scenario() throws -> [Op] {
        let badAuth = RelayFixtures.subscribe(socket: "9.9", channel: "private-x", auth: "\(Fixtures.appKey):" + String(repeating: "0", count: 64))
        return [
            try join(try RelayFixtures.presence(socket: "1.1", user: "ann", info: .object(["n": .integer(1)]))),
            try join(try RelayFixtures.presence(socket: "1.2", user: "ann")),
            try join(try RelayFixtures.presence(socket: "2.1", user: "bob")),
            try join(try RelayFixtures.presence(socket: "3.1", user: "cy")),
            try join(try RelayFixtures.presence(socket: "1.1", user: "ann", info: .object(["n": .integer(1)]))),
            try join(badAuth),
            try join(try RelayFixtures.presence(socket: "4.1", user: "dee"), app: "999"),
            leave(socket: "1.1", channel: "presence-room"),
            try join(try RelayFixtures.presence(socket: "3.1", user: "cy")),
            disconnect(socket: "1.2"),
            try join(try RelayFixtures.presence(socket: "5.1", user: "eve")),
            disconnect(socket: "7.7"),
            leave(socket: "2.1", channel: "presence-room"),
        ]
    }

    /// Run both ways round: single calls through the router and the batch through the event-loop fast path, and
    /// the reverse.
    @Test("a batch answers, op by op and event by event, what the single calls answer", arguments: [true, false])
    func sameAsSingleCalls(singlesThroughRouter: Bool) async throws {
        let ops = try Self.scenario()
        let limits = PresenceLimits(maxMembers: 2)
        let singles = try RelayServer(limits: limits)
        let answers = Mutex<[(status: Int, body: String)]>([])
        try await singles.run(singlesThroughRouter ? .router : .live) { client in
            for op in ops {
                let response = try await client.send(op.method, op.path, json: op.body)
                answers.withLock { $0.append((Int(response.status.code), response.text)) }
            }
        }
        let expected = answers.withLock { $0 }
        let batched = try RelayServer(limits: limits)
        try await batched.run(singlesThroughRouter ? .live : .router) { client in
            let response = try await client.send(.post, "/relay/v1/nodes/r1/batch", json: Self.batch(ops))
            #expect(response.status == .ok, "body: \(response.text)")
            guard case .array(let results)? = response.json?["results"] else {
                Issue.record("no results: \(response.text)")
                return
            }
            #expect(results.count == ops.count)
            for (index, (result, single)) in zip(results, expected).enumerated() {
                guard case .object(var fields) = result else {
                    Issue.record("result \(index) is not an object: \(result)")
                    continue
                }
                #expect(fields.removeValue(forKey: "status") == .integer(Int64(single.status)), "op \(index)")
                #expect(
                    Self.unordered(.object(fields)) == Self.unordered(try JSONValue.parse(single.body)),
                    "op \(index): \(result) vs \(single.body)")
            }
        }
        // Some ops were refused (403, 404, 409) and some succeeded: the scenario covers both.
        #expect(Set(expected.map(\.status)) == [200, 403, 404, 409])
        #expect(batched.logged() == singles.logged())
        #expect(!batched.logged().isEmpty)
    }

    @Test("presence: false answers member_added without the member list")
    func withoutPresence() async throws {
        let server = try RelayServer()
        try await server.run { client in
            guard case .object(var op) = try Self.join(try RelayFixtures.presence(socket: "1.1", user: "ann")).json else { return }
            op["presence"] = .bool(false)
            let response = try await client.send(.post, "/relay/v1/nodes/r1/batch", json: JSONValue.object(["ops": .array([.object(op)])]).jsonText)
            #expect(response.text == #"{"results":[{"status":200,"member_added":true}]}"#)
            op["socket_id"] = .string("1.2")
            let again = try await client.send(.post, "/relay/v1/nodes/r1/batch", json: JSONValue.object(["ops": .array([.object(op)])]).jsonText)
            // A second socket's auth was signed for 1.1: refused, as the single call would.
            guard case .array(let results)? = again.json?["results"] else { return }
            #expect(results.first?["status"] == .integer(403))
        }
        #expect(server.logged() == ["channel_occupied presence-room", "member_added ann"])
    }

    @Test("malformed ops answer 400 each and the others are applied")
    func malformedOps() async throws {
        let server = try RelayServer()
        try await server.run { client in
            let good = try Self.join(try RelayFixtures.presence(socket: "1.1", user: "ann")).json
            let body = JSONValue.object([
                "ops": .array([
                    .string("join"), .object(["op": .string("join"), "app": .string(Fixtures.appID)]),
                    .object(["op": .string("jump"), "app": .string(Fixtures.appID)]),
                    .object(["op": .string("leave"), "app": .string(Fixtures.appID), "socket_id": .integer(1), "channel": .string("x")]),
                    .object(["op": .string("disconnect"), "app": .string(Fixtures.appID), "socket_id": .string("nope")]), good,
                ])
            ]).jsonText
            let response = try await client.send(.post, "/relay/v1/nodes/r1/batch", json: body)
            #expect(response.status == .ok)
            guard case .array(let results)? = response.json?["results"] else { return }
            #expect(results.map { $0["status"] } == [.integer(400), .integer(400), .integer(400), .integer(400), .integer(400), .integer(200)])
            #expect(results[1]["error"]?.stringValue == "missing field ops[1].socket_id")
        }
        #expect(server.logged() == ["channel_occupied presence-room", "member_added ann"])
    }

    @Test("over 1,000 ops or 1 MiB is a 413, a body that is not {\"ops\":[…]} a 400, and nothing changes")
    func limits() async throws {
        let server = try RelayServer()
        try await server.run { client in
            let op = try Self.join(try RelayFixtures.presence(socket: "1.1", user: "ann"))
            let tooMany = try await client.send(.post, "/relay/v1/nodes/r1/batch", json: Self.batch(Array(repeating: op, count: 1001)))
            #expect(tooMany.status == .contentTooLarge)
            #expect(tooMany.text.contains("at most 1000"))
            var big = Self.batch([op])
            big.removeLast(2)
            big += "," + String(repeating: "\(op.json.jsonText),", count: (1 << 20) / op.json.jsonText.utf8.count) + "\(op.json.jsonText)]}"
            let tooLarge = try await client.send(.post, "/relay/v1/nodes/r1/batch", json: big)
            #expect(tooLarge.status == .contentTooLarge)
            for body in ["", "[]", #"{"ops":{}}"#, #"{"ops":[1,]}"#, "{\"ops\":[]} x"] {
                let response = try await client.send(.post, "/relay/v1/nodes/r1/batch", json: body)
                #expect(response.status == .badRequest, "\(body): \(response.text)")
            }
            let badNode = try await client.send(.post, "/relay/v1/nodes/%20/batch", json: Self.batch([op]))
            #expect(badNode.status == .badRequest)
            let unauthorized = try await client.send(.post, "/relay/v1/nodes/r1/batch", json: Self.batch([op]), authorization: nil)
            #expect(unauthorized.status == .unauthorized)
        }
        #expect(server.logged().isEmpty)
    }

    @Test("a batch renews its node's lease, even with no join, and an empty batch answers no results")
    func renewsLease() async throws {
        let server = try RelayServer()
        try await server.run { client in
            let response = try await client.send(.post, "/relay/v1/nodes/r7/batch", json: Self.batch([Self.disconnect(socket: "1.1")]))
            #expect(response.text == #"{"results":[{"status":200}]}"#)
            #expect(server.store.statistics().presence.nodes == 1)
            let empty = try await client.send(.post, "/relay/v1/nodes/r8/batch", json: #"{"ops":[]}"#)
            #expect(empty.text == #"{"results":[]}"#)
        }
    }
}
