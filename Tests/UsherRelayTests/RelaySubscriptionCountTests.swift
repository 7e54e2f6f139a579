import Testing
import UsherCore
import UsherCrypto
@testable import UsherRelay

/// `subscription_count` (PUSHER-PROTOCOL.md §9a): with the app's `subscription_count: true`, subscribers of a
/// non-presence channel get `pusher_internal:subscription_count` with the deployment-wide count when it changes,
/// throttled per channel; presence channels and apps without the setting get none.
@Suite struct RelaySubscriptionCountTests {
    static func count(_ frame: JSONValue) -> JSONValue? {
        PusherSocket.data(frame)?["subscription_count"]
    }

    /// Waits for a count event carrying `expected` (earlier counts may come first while changes are throttled).
    static func waitForCount(_ socket: PusherSocket, _ channel: String, _ expected: Int64) async throws {
        while true {
            // Generous: on a loaded machine the disconnect a count waits for reaches Usher in a batch some seconds late.
            let frame = try await socket.next("pusher_internal:subscription_count", channel: channel, timeout: .seconds(15))
            if count(frame) == .integer(expected) { return }
        }
    }

    @Test("counts cover subscribers on every node, follow leaves, and skip presence channels")
    func clusterWide() async throws {
        var timings = Testbed.Timings()
        timings.subscriptionCountInterval = .milliseconds(300)
        try await Testbed.run(relays: 2, timings: timings) { bed in
            let ann = try await PusherSocket.connect(port: bed.relayPorts[0])
            try ann.subscribe("news")
            _ = try await ann.next("pusher_internal:subscription_succeeded", channel: "news")
            #expect(Self.count(try await ann.next("pusher_internal:subscription_count", channel: "news")) == .integer(1))

            // A subscriber on the other node and a private channel: both nodes' sockets see the total.
            let bob = try await PusherSocket.connect(port: bed.relayPorts[1])
            try bob.subscribe("news")
            try bob.subscribe("private-desk")
            _ = try await bob.next("pusher_internal:subscription_succeeded", channel: "news")
            try await Self.waitForCount(ann, "news", 2)
            try await Self.waitForCount(bob, "news", 2)
            try await Self.waitForCount(bob, "private-desk", 1)

            bob.send("pusher:unsubscribe", data: .object(["channel": .string("news")]))
            try await Self.waitForCount(ann, "news", 1)

            // Presence channels have members, not counts.
            try ann.subscribe("presence-room", channelData: #"{"user_id":"ann"}"#)
            _ = try await ann.next("pusher_internal:subscription_succeeded", channel: "presence-room")
            #expect(await ann.receives("pusher_internal:subscription_count", channel: "presence-room", within: .milliseconds(600)) == false)

            // A closed socket counts out too. Cy subscribes once Usher counted Bob out: before that, Cy's join and
            // Bob's disconnect could fall in one throttle interval, leaving the count at 1 with nothing to publish.
            bob.abort()
            try await waitUntil {
                try await bed.usherGET("/relay/v1/apps/\(TestApp.id)/channels/private-desk")?["subscription_count"] == .integer(0)
            }
            let cy = try await PusherSocket.connect(port: bed.relayPorts[0])
            try cy.subscribe("private-desk")
            try await Self.waitForCount(cy, "private-desk", 1)
            for socket in [ann, cy] { socket.abort() }
        }
    }

    @Test("a burst of subscriptions is throttled and ends on the final count")
    func throttled() async throws {
        var timings = Testbed.Timings()
        timings.subscriptionCountInterval = .milliseconds(1000)
        try await Testbed.run(timings: timings) { bed in
            let watcher = try await PusherSocket.connect(port: bed.relayPorts[0])
            try watcher.subscribe("scores")
            #expect(Self.count(try await watcher.next("pusher_internal:subscription_count", channel: "scores")) == .integer(1))
            var others: [PusherSocket] = []
            for _ in 0..<8 {
                let socket = try await PusherSocket.connect(port: bed.relayPorts[0])
                try socket.subscribe("scores")
                _ = try await socket.next("pusher_internal:subscription_succeeded", channel: "scores")
                others.append(socket)
            }
            // Eight changes, far fewer events (one per 1 s interval), the last one with the total.
            var events = 0
            while true {
                events += 1
                let frame = try await watcher.next("pusher_internal:subscription_count", channel: "scores", timeout: .seconds(5))
                if Self.count(frame) == .integer(9) { break }
            }
            #expect(events < 8)
            #expect(await watcher.receives("pusher_internal:subscription_count", channel: "scores", within: .milliseconds(1500)) == false)
            for socket in others + [watcher] { socket.abort() }
        }
    }

    @Test("apps without subscription_count get no counts")
    func optIn() async throws {
        try await Testbed.run { bed in
            let ann = try await PusherSocket.connect(port: bed.relayPorts[0])
            try ann.subscribe("news")
            _ = try await ann.next("pusher_internal:subscription_succeeded", channel: "news")
            let bob = try await PusherSocket.connect(port: bed.relayPorts[0])
            try bob.subscribe("news")
            _ = try await bob.next("pusher_internal:subscription_succeeded", channel: "news")
            #expect(await ann.receives("pusher_internal:subscription_count", within: .milliseconds(500)) == false)
            for socket in [ann, bob] { socket.abort() }
        }
    }
}
