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
            #expect(info?["occupied"] != nil)  // from Usher: whether the aborted sockets are gone yet depends on timing
            #expect(info?["cache"]?["event"] == .string("price"))
            #expect(info?["cache"]?["data"] == .string(#"{"v":2}"#))
            guard case .integer(let ttl)? = info?["cache"]?["ttl"] else { throw CancellationError() }
            #expect((1_790...1_800).contains(ttl))
        }
    }

    @Test("nothing cached: pusher:cache_miss; client events do not fill the cache")
    func misses() async throws {
        try await Testbed.run { bed in
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
            let (status, info) = try await bed.query(path: "/apps/\(TestApp.id)/channels/private-cache-room", info: "cache,subscription_count")
            #expect(status == 200)
            #expect(info?["cache"] == nil)
            #expect(info?["subscription_count"] != nil)
            #expect(try await bed.query(path: "/apps/\(TestApp.id)/channels/public-x", info: "cache").0 == 400)
            // Ordinary channels get neither.
            try bo.subscribe("news")
            _ = try await bo.next("pusher_internal:subscription_succeeded", channel: "news")
            #expect(await bo.receives("pusher:cache_miss", within: .milliseconds(300)) == false)
            for socket in [ann, bo] { socket.abort() }
        }
    }

    @Test("an expired event is forgotten; a later-published event wins whatever the arrival order")
    func expiryAndOrder() throws {
        let hub = ConnectionHub()
        let key = ChannelKey(app: TestApp.id, channel: "cache-x")
        var early = TriggeredEvent(name: "v", data: "1")
        early.published = 1_000
        var late = TriggeredEvent(name: "v", data: "2")
        late.published = 2_000
        hub.deliverTriggered("frame-2", event: late, to: key, exceptSocket: nil, ttl: .seconds(60))
        hub.deliverTriggered("frame-1", event: early, to: key, exceptSocket: nil, ttl: .seconds(60))
        #expect(hub.cachedEvent(key)?.event.data == "2")
        hub.deliverTriggered("frame-1", event: early, to: ChannelKey(app: TestApp.id, channel: "cache-y"), exceptSocket: nil, ttl: .milliseconds(1))
        Thread.sleep(forTimeInterval: 0.01)
        #expect(hub.cachedEvent(ChannelKey(app: TestApp.id, channel: "cache-y")) == nil)
        // Full: the expired go, then the tenth expiring soonest; the newest stays.
        let small = ConnectionHub(maxCachedChannels: 10)
        for index in 0..<10 {
            small.deliverTriggered("f", event: late, to: ChannelKey(app: TestApp.id, channel: "cache-\(index)"), exceptSocket: nil, ttl: .seconds(60 + index))
        }
        small.deliverTriggered("f", event: late, to: ChannelKey(app: TestApp.id, channel: "cache-new"), exceptSocket: nil, ttl: .seconds(60))
        #expect(small.cachedEvent(ChannelKey(app: TestApp.id, channel: "cache-0")) == nil)
        #expect((1..<10).allSatisfy { small.cachedEvent(ChannelKey(app: TestApp.id, channel: "cache-\($0)")) != nil })
        #expect(small.cachedEvent(ChannelKey(app: TestApp.id, channel: "cache-new")) != nil)
        // Not a cache channel: nothing kept.
        hub.deliverTriggered("frame", event: late, to: ChannelKey(app: TestApp.id, channel: "news"), exceptSocket: nil, ttl: .seconds(60))
        #expect(hub.cachedEvent(ChannelKey(app: TestApp.id, channel: "news")) == nil)
    }
}
