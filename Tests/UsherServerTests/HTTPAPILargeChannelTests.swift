import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// A 100,000-member presence channel through the HTTP API: every id exactly once, in well-formed JSON.
/// Correctness only; throughput belongs to `Benchmarks/`.
@Suite struct HTTPAPILargeChannelTests {
    static let memberCount = 100_000

    /// One relay node snapshot holding `count` sockets, each a distinct member `u<i>` of `presence-big`.
    static func fill(_ server: RelayServer, count: Int) async throws {
        let channel = try ChannelName(validating: "presence-big")
        let subscriptions = try (0..<count).map { index in
            try Subscription(
                app: Fixtures.appID, socketID: SocketID(validating: "\(index / 1000 + 1).\(index % 1000 + 1)"), channel: channel,
                member: PresenceMember(userID: "u\(index)", userInfo: index.isMultiple(of: 2) ? .object(["n": .integer(Int64(index))]) : nil))
        }
        server.store.replaceNode(try NodeID(validating: "big"), with: subscriptions)
    }

    /// The `id`s (and `user_info`s) of a users answer, parsed with Foundation as an independent JSON reader.
    static func parse(_ response: TestResponse) throws -> [(id: String, info: [String: Any]?)] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
        #expect(object.keys.sorted() == ["users"])
        let users = try #require(object["users"] as? [[String: Any]])
        return try users.map { user in (try #require(user["id"] as? String), user["user_info"] as? [String: Any]) }
    }

    @Test("100,000 members are listed once each; counts agree")
    func listing() async throws {
        let server = try RelayServer()
        try await Self.fill(server, count: Self.memberCount)
        try await server.run { client in
            let response = try await client.api(.get, "/apps/3/channels/presence-big/users")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            let ids = try Self.parse(response).map(\.id)
            #expect(ids.count == Self.memberCount)
            #expect(Set(ids) == Set((0..<Self.memberCount).map { "u\($0)" }))

            let info = try await client.api(.get, "/apps/3/channels/presence-big", params: ["info": "user_count,subscription_count"])
            #expect(info.text == #"{"occupied":true,"user_count":100000,"subscription_count":100000}"#)
            let channels = try await client.api(.get, "/apps/3/channels", params: ["filter_by_prefix": "presence-", "info": "user_count"])
            #expect(channels.text == #"{"channels":{"presence-big":{"user_count":100000}}}"#)
        }
    }

    @Test("with_user_info=1 on a large channel carries each member's own user_info")
    func listingWithInfo() async throws {
        let server = try RelayServer()
        try await Self.fill(server, count: 20_000)
        try await server.run { client in
            let response = try await client.api(.get, "/apps/3/channels/presence-big/users", params: ["with_user_info": "1"])
            let users = try Self.parse(response)
            #expect(users.count == 20_000)
            #expect(Set(users.map(\.id)).count == 20_000)
            let mismatched = users.filter { user in
                let index = Int(user.id.dropFirst())!
                let expected = index.isMultiple(of: 2) ? ["n": index] : [:]
                return (user.info as? [String: Int]) != expected
            }
            #expect(mismatched.isEmpty, "first mismatch: \(mismatched.first.map { "\($0.id) \(String(describing: $0.info))" } ?? "")")
        }
    }
}
