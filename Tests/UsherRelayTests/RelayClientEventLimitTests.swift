import Foundation
import Testing
import UsherCore
@testable import UsherRelay

/// Client events are limited per connection (PUSHER-PROTOCOL.md §9a: 10 per second unless the app's
/// `client_events.per_second` says otherwise, which relays learn from Usher's node lease).
@Suite struct RelayClientEventLimitTests {
    @Test("the allowance: bursts up to the rate, refilled continuously, never above the rate")
    func tokenBucket() throws {
        let connection = RelayConnection(socketID: try SocketID(validating: "1.1"), app: try TestApp.app(), outboxLimit: 10)
        let start = ContinuousClock.now
        #expect((0..<4).map { _ in connection.takeClientEvent(perSecond: 3, now: start) } == [true, true, true, false])
        #expect(connection.takeClientEvent(perSecond: 3, now: start + .milliseconds(200)) == false)  // 0.6 of one
        #expect(connection.takeClientEvent(perSecond: 3, now: start + .milliseconds(400)) == true)  // 1.2
        #expect(connection.takeClientEvent(perSecond: 3, now: start + .milliseconds(400)) == false)
        let later = start + .seconds(60)
        #expect((0..<4).map { _ in connection.takeClientEvent(perSecond: 3, now: later) } == [true, true, true, false])
    }

    @Test("the lease carries each app's features; a missing or unusable value keeps the default")
    func leaseFeatures() {
        #expect(AppFeatures(json: .object(["client_events_per_second": .integer(3)])).clientEventsPerSecond == 3)
        #expect(AppFeatures(json: nil).clientEventsPerSecond == 10)
        #expect(AppFeatures(json: .object(["client_events_per_second": .integer(0)])).clientEventsPerSecond == 10)
        #expect(AppFeatures(json: .object(["client_events_per_second": .string("5")])).clientEventsPerSecond == 10)
        #expect(AppFeatures(json: AppFeatures(clientEventsPerSecond: 7).json) == AppFeatures(clientEventsPerSecond: 7))
        #expect(AppFeatureTable()["unknown"] == AppFeatures())
    }

    @Test("client events over the app's configured rate get pusher:error 4301 and reach nobody")
    func configuredRate() async throws {
        var timings = Testbed.Timings()
        timings.clientEventsPerSecond = 1
        try await Testbed.run(relays: 2, timings: timings) { bed in
            let ann = try await PusherSocket.connect(port: bed.relayPorts[0])
            let bo = try await PusherSocket.connect(port: bed.relayPorts[1])
            for socket in [ann, bo] {
                try socket.subscribe("private-chat")
                _ = try await socket.next("pusher_internal:subscription_succeeded", channel: "private-chat")
            }
            // The relays learn the rate from their first heartbeats, which run at start-up; give them two intervals.
            try await Task.sleep(for: .seconds(1.2))
            for index in 0..<4 { ann.send("client-typing", data: .object(["n": .integer(Int64(index))]), channel: "private-chat") }
            // One per second: the first goes through; of the rest, at most one more if the relay took over a second.
            #expect(PusherSocket.data(try await bo.next("client-typing", channel: "private-chat"))?["n"] == .integer(0))
            for _ in 0..<2 { #expect(try await ann.next("pusher:error")["data"]?["code"] == .integer(4301)) }
            ann.abort()
            bo.abort()
        }
    }
}
