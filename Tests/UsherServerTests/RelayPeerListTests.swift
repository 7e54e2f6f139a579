import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// Heartbeats announce where a node takes forwarded events and answer the other live nodes' (peer discovery).
@Suite struct RelayPeerListTests {
    static func peers(_ response: TestResponse) throws -> [String] {
        guard case .array(let peers)? = try JSONValue.parse(response.text)["peers"] else { return ["no peers field"] }
        return peers.map { "\($0["node"]?.stringValue ?? "?") \($0["forward_url"]?.stringValue ?? "?")" }
    }

    @Test("each node's heartbeat lists the others that announced a forward URL, until their lease lapses")
    func listed() async throws {
        let server = try RelayServer()
        try await server.run { client in
            let a = try await client.send(.put, "/relay/v1/nodes/a", json: #"{"forward_url":"http://10.0.0.1:6001"}"#)
            #expect(a.status == .ok)
            #expect(try Self.peers(a) == [])
            let b = try await client.send(.put, "/relay/v1/nodes/b", json: #"{"forward_url":"https://relay-b.example"}"#)
            #expect(try Self.peers(b) == ["a http://10.0.0.1:6001"])
            // A heartbeat without a body keeps what the node announced before.
            _ = try await client.send(.put, "/relay/v1/nodes/b")
            #expect(try Self.peers(try await client.send(.put, "/relay/v1/nodes/a")) == ["b https://relay-b.example"])
            // b goes silent: after its lease (5 s) it is no longer listed.
            server.clock.advance(by: 4000)
            _ = try await client.send(.put, "/relay/v1/nodes/a")
            server.clock.advance(by: 1500)
            #expect(try Self.peers(try await client.send(.put, "/relay/v1/nodes/a")) == [])
        }
    }

    @Test("heartbeats report connections per app; each node's answer has the other live nodes' totals")
    func connectionCounts() async throws {
        let server = try RelayServer()
        try await server.run { client in
            func counts(_ response: TestResponse) throws -> JSONValue? { try JSONValue.parse(response.text)["connections"] }
            _ = try await client.send(.put, "/relay/v1/nodes/a", json: #"{"connections":{"\#(Fixtures.appID)":4,"unknown-app":9}}"#)
            let b = try await client.send(.put, "/relay/v1/nodes/b", json: #"{"connections":{"\#(Fixtures.appID)":1}}"#)
            #expect(try counts(b) == .object([Fixtures.appID: .integer(4)]), "an app Usher does not serve is not counted")
            #expect(try counts(try await client.send(.put, "/relay/v1/nodes/a")) == .object([Fixtures.appID: .integer(1)]))
            let refused = try await client.send(.put, "/relay/v1/nodes/a", json: #"{"connections":{"x":-1}}"#)
            #expect(refused.status == .badRequest)
        }
    }

    @Test("a forward URL that is not an http(s) base URL is a 400 and renews nothing", arguments: [
        #"{"forward_url":"ftp://10.0.0.1"}"#, #"{"forward_url":"http://"}"#, #"{"forward_url":"http://h/p?q=1"}"#,
        #"{"forward_url":7}"#, #"[1]"#, #"{"forward_url":"http://h/\#(String(repeating: "a", count: 2050))"}"#,
    ])
    func refused(body: String) async throws {
        let server = try RelayServer()
        try await server.run { client in
            let response = try await client.send(.put, "/relay/v1/nodes/a", json: body)
            #expect(response.status == .badRequest, "\(response.text)")
            #expect(try Self.peers(try await client.send(.put, "/relay/v1/nodes/b")) == [])
        }
    }
}
