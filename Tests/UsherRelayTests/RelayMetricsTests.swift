import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import UsherCore
import UsherCrypto
@testable import UsherRelay

/// The relay's `GET /metrics` (Prometheus text): what an operator watches on a node.
@Suite struct RelayMetricsTests {
    /// One sample's value from the exposition (`name{labels}` exactly as written), nil when absent.
    static func sample(_ text: String, _ name: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    static func scrape(port: Int) async throws -> (String, String) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(5))
        return (response.headers.first(name: "content-type") ?? "", String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    @Test("connections, subscriptions by kind, messages, refusals, Usher calls, batches, the stream and peer forwarding")
    func exposition() async throws {
        var timings = Testbed.Timings()
        timings.clientEventsPerSecond = 1
        try await Testbed.run(relays: 2, timings: timings) { bed in
            let ann = try await PusherSocket.connect(port: bed.relayPorts[0])
            for channel in ["news", "private-desk"] {
                try ann.subscribe(channel)
                _ = try await ann.next("pusher_internal:subscription_succeeded", channel: channel)
            }
            for n in 0..<3 { ann.send("client-typing", data: .object(["n": .integer(Int64(n))]), channel: "private-desk") }
            _ = try await ann.next("pusher:error")  // the second one is over 1 per second
            #expect(try await bed.trigger(body: #"{"name":"tick","channel":"news","data":"1"}"#).0 == 200)
            _ = try await ann.next("tick", channel: "news")

            let (contentType, text) = try await Self.scrape(port: bed.relayPorts[0])
            #expect(contentType.hasPrefix("text/plain"))
            #expect(Self.sample(text, "usher_relay_connections") == 1)
            #expect(Self.sample(text, #"usher_relay_subscriptions{kind="public"}"#) == 1)
            #expect(Self.sample(text, #"usher_relay_subscriptions{kind="private"}"#) == 1)
            #expect(Self.sample(text, #"usher_relay_subscriptions{kind="presence"}"#) == 0)
            #expect(Self.sample(text, #"usher_relay_messages_in_total{kind="subscribe"}"#) == 2)
            #expect(Self.sample(text, #"usher_relay_messages_in_total{kind="client_event"}"#) == 3)
            #expect((Self.sample(text, "usher_relay_client_events_refused_total") ?? 0) >= 1)
            #expect((Self.sample(text, "usher_relay_messages_out_total") ?? 0) >= 4)  // established, 2 succeeded, error, tick
            #expect((Self.sample(text, "usher_relay_usher_call_seconds_count") ?? 0) >= 2)  // heartbeats and the batches
            #expect((Self.sample(text, "usher_relay_usher_batch_ops_count") ?? 0) >= 1)
            #expect(Self.sample(text, "usher_relay_usher_call_failures_total") == 0)
            #expect((Self.sample(text, "usher_relay_event_stream_reconnects_total") ?? 0) >= 1)
            #expect(Self.sample(text, "usher_relay_peer_forward_drops_total") == 0)
            #expect(Self.sample(text, "usher_relay_peer_queue_depth") != nil)
            #expect(Self.sample(text, "usher_relay_slow_client_closes_total") == 0)
            ann.abort()
        }
    }
}
