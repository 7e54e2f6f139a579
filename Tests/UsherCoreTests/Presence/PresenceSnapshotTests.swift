import Testing
import UsherCore
import UsherCrypto

private typealias F = PresenceFixture

@Suite struct PresenceSnapshotTests {
    static let info = JSONValue.object(["name": .string("Zoë 🎉"), "tags": .array([.string("日本"), .integer(7)])])
    static let ann = #""42":{"name":"Zoë 🎉","tags":["日本",7]}"#
    static let bare = #""q\"7":{}"#

    @Test("the presence object lists ids and a hash with {} for a member without user_info")
    func jsonText() {
        let snapshot = PresenceSnapshot(members: [
            PresenceMember(userID: "42", userInfo: Self.info), PresenceMember(userID: #"q"7"#),
        ])
        #expect(snapshot.count == 2)
        #expect(snapshot.jsonText == #"{"ids":["42","q\"7"],"hash":{"# + Self.ann + "," + Self.bare + #"},"count":2}"#)
    }

    @Test("the registry's snapshot holds every member once, in either order")
    func registrySnapshot() throws {
        var registry = PresenceRegistry()
        _ = try registry.join(F.subscription("1.1", "presence-room", user: "42", info: Self.info), now: 0)
        _ = try registry.join(F.subscription("1.2", "presence-room", user: #"q"7"#), now: 0)
        _ = try registry.join(F.subscription("1.3", "presence-room", user: "42"), now: 0)
        let text = try #require(registry.presence(app: F.app, channel: "presence-room")).jsonText
        let orders = [
            #"{"ids":["42","q\"7"],"hash":{"# + Self.ann + "," + Self.bare + #"},"count":2}"#,
            #"{"ids":["q\"7","42"],"hash":{"# + Self.bare + "," + Self.ann + #"},"count":2}"#,
        ]
        #expect(orders.contains(text), "\(text)")
        let parsed = try JSONValue.parse(text)
        #expect(parsed["hash"]?["42"] == Self.info)
    }

    @Test("an empty snapshot is well-formed JSON")
    func empty() {
        #expect(PresenceSnapshot(members: []).jsonText == #"{"ids":[],"hash":{},"count":0}"#)
    }

    @Test("presence subscriptions need a member and others must have none")
    func subscriptionValidation() throws {
        let socket = try F.socket("1.1")
        #expect(throws: CoreError.invalidChannelData) {
            try Subscription(app: F.app, socketID: socket, channel: try F.channel("presence-room"))
        }
        #expect(throws: CoreError.invalidChannelData) {
            try Subscription(
                app: F.app, socketID: socket, channel: try F.channel("private-room"),
                member: PresenceMember(userID: "1"))
        }
    }

    @Test("events describe themselves for logs")
    func eventDescription() {
        #expect(
            F.added("presence-room", "42", .object(["a": .integer(1)])).description
                == #"member_added app1/presence-room "42" {"a":1}"#)
        #expect(F.vacated("news").description == "channel_vacated app1/news")
        #expect(PresenceEventKind.memberRemoved.rawValue == "member_removed")
    }
}
