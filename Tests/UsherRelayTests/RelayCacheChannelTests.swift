import Foundation
import Testing
import UsherCore
import UsherCrypto
@testable import UsherRelay

/// Cache channels (PUSHER-PROTOCOL.md §9a): the last server-triggered event of a `cache-`, `private-cache-`,
/// `private-encrypted-cache-` or `presence-cache-` channel is sent right after `subscription_succeeded`, on every
/// relay node; with nothing cached, `pusher:cache_miss`; the relay's channel API shows it with `info=cache`.
@Suite struct RelayCacheChannelTests {
    @Test("a new subscriber on any node gets the last triggered event right after subscription_succeeded")
    func replay() async throws {
        try await Testbed.run(relays: 2) { bed in
            for (index, price) in ["1", "2"].enumerated() {
                let body = #"{"name":"price","channels":["cache-btc","private-cache-eth"],"data":"{\"v\":\#(price)}"}"#
                #expect(try await bed.trigger(node: index, body: body).0 == 200)
            }
            // Each node learns the other's event through the peer forward, which is asynchronous: wait until both hold
            // the later one (published later, so it wins wherever it arrives second).
            for node in 0..<2 {
                let deadline = ContinuousClock.now + .seconds(10)
                while try await bed.query(node: node, path: "/apps/\(TestApp.id)/channels/private-cache-eth", info: "cache").1?["cache"]?["data"]
                    != .string(#"{"v":2}"#)
                {
                    guard ContinuousClock.now < deadline else { throw CancellationError() }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            for node in 0..<2 {
                let socket = try await PusherSocket.connect(port: bed.relayPorts[node])
                for channel in ["cache-btc", "private-cache-eth"] {
                    try socket.subscribe(channel)
                    _ = try await socket.next("pusher_internal:subscription_succeeded", channel: channel)
                    let cached = try await socket.next("price", channel: channel)
                    #expect(PusherSocket.data(cached) == .object(["v": .integer(2)]), "node \(node) \(channel)")
                }
                socket.abort()
            }
            let (status, info) = try await bed.query(node: 1, path: "/apps/\(TestApp.id)/channels/cache-btc", info: "cache")
            #expect(status == 200)
            #expect(info?["occupied"] == .bool(false))
            #expect(info?["cache"]?["event"] == .string("price"))
            #expect(info?["cache"]?["data"] == .string(#"{"v":2}"#))
            guard case .integer(let ttl)? = info?["cache"]?["ttl"] else { throw CancellationError() }
            #expect((1_790...1_800).contains(ttl))
        }
    }

    @Test("nothing cached: pusher:cache_miss; client events do not fill the cache; an expired event is a miss")
    func misses() async throws {
        var timings = Testbed.Timings()
        timings.cacheTTL = .milliseconds(500)
        try await Testbed.run(timings: timings) { bed in
            let ann = try await PusherSocket.connect(port: bed.relayPorts[0])
            try ann.subscribe("private-cache-room")
            _ = try await ann.next("pusher_internal:subscription_succeeded", channel: "private-cache-room")
            _ = try await ann.next("pusher:cache_miss", channel: "private-cache-room")
            ann.send("client-typing", data: .object([:]), channel: "private-cache-room")
            #expect(try await bed.trigger(body: #"{"name":"score","channel":"cache-match","data":"1-0"}"#).0 == 200)
            let bo = try await PusherSocket.connect(port: bed.relayPorts[0])
            try bo.subscribe("private-cache-room")
            _ = try await bo.next("pusher_internal:subscription_succeeded", channel: "private-cache-room")
            _ = try await bo.next("pusher:cache_miss", channel: "private-cache-room")
            try bo.subscribe("cache-match")
            _ = try await bo.next("pusher_internal:subscription_succeeded", channel: "cache-match")
            #expect(PusherSocket.data(try await bo.next("score", channel: "cache-match")) == .string("1-0"))
            try await Task.sleep(for: .milliseconds(700))
            let late = try await PusherSocket.connect(port: bed.relayPorts[0])
            try late.subscribe("cache-match")
            _ = try await late.next("pusher_internal:subscription_succeeded", channel: "cache-match")
            _ = try await late.next("pusher:cache_miss", channel: "cache-match")
            let (status, info) = try await bed.query(path: "/apps/\(TestApp.id)/channels/cache-match", info: "cache,subscription_count")
            #expect(status == 200)
            #expect(info?["cache"] == nil)
            #expect(info?["subscription_count"] == .integer(2))
            #expect(try await bed.query(path: "/apps/\(TestApp.id)/channels/public-x", info: "cache").0 == 400)
            // Ordinary channels get neither.
            try late.subscribe("news")
            _ = try await late.next("pusher_internal:subscription_succeeded", channel: "news")
            #expect(await late.receives("pusher:cache_miss", within: .milliseconds(300)) == false)
            for socket in [ann, bo, late] { socket.abort() }
        }
    }
}
