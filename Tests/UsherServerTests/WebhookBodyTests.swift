import Foundation
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// Webhook bodies and their signatures (PUSHER-PROTOCOL.md §8, V17), and `apps[].webhooks` in usher.yaml.
@Suite struct WebhookBodyTests {
    static let time: Int64 = 1_327_078_148_132

    static func event(_ kind: StreamEvent.Kind, _ channel: String?, user: String? = nil, info: JSONValue? = nil) -> StreamEvent {
        StreamEvent(sequence: 1, kind: kind, app: "3", channel: channel, userID: user, userInfo: info)
    }

    @Test("V17: the bodies are byte-exact and sign to the vector signatures", arguments: [
        (
            event(.channelOccupied, "test_channel"),
            #"{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"test_channel"}]}"#,
            "709fdb84c03664445f7698120b0edf0acc1ab1c8c6e93a0368c61841d6b998aa"
        ),
        (
            event(.memberAdded, "presence-foobar", user: "42", info: .object(["name": "Ann"])),
            #"{"time_ms":1327078148132,"events":[{"name":"member_added","channel":"presence-foobar","user_id":"42"}]}"#,
            "792d1a1d03fe02f62d7705d6850a62e2e6b8799398274831cb466d6187b585e1"
        ),
    ])
    func vectors(_ event: StreamEvent, _ body: String, _ signature: String) {
        let made = WebhookBody.make([event], timeMillis: Self.time)
        #expect(made == body)
        #expect(HMACKey(secret: Fixtures.appSecret).hexMAC(made) == signature)
    }

    @Test("subscription_count carries the count instead of a user")
    func subscriptionCount() {
        let event = StreamEvent(sequence: 1, app: "3", channel: "news", subscriptionCount: 12)
        #expect(event.data == #"{"app":"3","channel":"news","subscription_count":12}"#)
        #expect(
            WebhookBody.make([event], timeMillis: 5)
                == #"{"time_ms":5,"events":[{"name":"subscription_count","channel":"news","subscription_count":12}]}"#)
    }

    @Test("several events keep their order; user ids are strings; JSON specials are escaped")
    func batch() throws {
        let body = WebhookBody.make([
            Self.event(.channelOccupied, "presence-a"), Self.event(.memberAdded, "presence-a", user: "10"),
            Self.event(.memberRemoved, "presence-a", user: #"q"u\o"#), Self.event(.channelVacated, "presence-a"),
        ], timeMillis: 5)
        #expect(body == #"{"time_ms":5,"events":[{"name":"channel_occupied","channel":"presence-a"},"#
            + #"{"name":"member_added","channel":"presence-a","user_id":"10"},"#
            + #"{"name":"member_removed","channel":"presence-a","user_id":"q\"u\\o"},"#
            + #"{"name":"channel_vacated","channel":"presence-a"}]}"#)
        let parsed = try JSONValue.parse(body)
        #expect(parsed["events"].map { if case .array(let events) = $0 { events.count } else { 0 } } == 4)
    }

    @Test("usher.yaml webhooks: url, events, batch_ms and batch_max are read; defaults 250 ms and 20")
    func configuration() throws {
        var configuration = UsherConfiguration()
        try ConfigurationLoader.load(yaml: """
            apps:
              - id: "3"
                webhooks: { url: "http://127.0.0.1:9/hook", events: [member_added, channel_vacated], batch_ms: 40, batch_max: 5 }
              - id: "4"
                webhooks: { url: "https://hooks.example/pusher" }
              - id: "5"
            """, baseDirectory: "/", into: &configuration)
        let first = try #require(configuration.apps[0].webhooks)
        #expect(first.url == "http://127.0.0.1:9/hook")
        #expect(first.events == [.memberAdded, .channelVacated])
        #expect(first.batchMillis == 40)
        #expect(first.batchMax == 5)
        let second = try #require(configuration.apps[1].webhooks)
        #expect(second.events == [.memberAdded, .memberRemoved, .channelOccupied, .channelVacated])
        #expect(second.batchMillis == 250)
        #expect(second.batchMax == 20)
        #expect(configuration.apps[2].webhooks == nil)
    }

    @Test("bad webhook settings fail at load, naming the problem", arguments: [
        (#"{ events: [member_added] }"#, "url"),
        (#"{ url: "ftp://example.com/x" }"#, "http"),
        (#"{ url: "not a url" }"#, "http"),
        (#"{ url: "http://h/x", events: [terminate_connections] }"#, "terminate_connections"),
        (#"{ url: "http://h/x", batch_max: 0 }"#, "batch_max"),
        (#"{ url: "http://h/x", secret: "x" }"#, "secret"),
    ])
    func refusals(_ webhooks: String, _ mentioned: String) {
        var configuration = UsherConfiguration()
        do {
            try ConfigurationLoader.load(yaml: "apps:\n  - id: \"3\"\n    webhooks: \(webhooks)\n", baseDirectory: "/", into: &configuration)
            Issue.record("accepted \(webhooks)")
        } catch {
            #expect(error.message.contains(mentioned), "message: \(error.message)")
        }
    }
}
