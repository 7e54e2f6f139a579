import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// The relay contract end to end over real sockets: `buildApplication` with a key directory, two relays, leases
/// driven by the real ticker, and an SSE consumer that disconnects, resumes and falls behind the retained log.
@Suite struct RelayLiveTests {
    static let lease: Int64 = 3000  // long enough for r1's 200 ms heartbeats to keep it alive on a loaded machine

    /// An application as `usher serve` builds it, over a fresh key directory holding the §11 app and a known relay token.
    func withServer(_ test: @Sendable (Int, RelayClient) async throws -> Void) async throws {
        let keys = TemporaryDirectory()
        defer { keys.remove() }
        try AppCredentialStore(directory: KeyDirectory(path: keys.path)).create(try Fixtures.pusherApp())
        try keys.write(RelayFixtures.token + "\n", to: "relay.token")
        var configuration = UsherConfiguration()
        configuration.keysDirectory = keys.path
        configuration.apps = [AppSettings(id: Fixtures.appID)]
        configuration.presence = .init(graceMillis: 300, leaseMillis: Self.lease)
        configuration.tickInterval = .milliseconds(50)
        configuration.eventLogCapacity = 8
        let app = try buildApplication(configuration: configuration, logger: Fixtures.quietLogger)
        try await app.test(.live) { client in
            try await test(try #require(client.port), RelayClient(client: client))
        }
    }

    @Test("relays join over HTTP, a lapsed lease removes its members, and SSE resumes exactly once, or resets")
    func endToEnd() async throws {
        try await withServer { port, relay in
            // r1 heartbeats every 200 ms from its first join until r2's members are gone, so only r2's lease lapses
            // however slowly the steps in between run on a loaded machine.
            let stop = StopFlag()
            var seen: [SSEEvent] = []
            var secondEvents: AsyncThrowingStream<SSEEvent, any Error>.AsyncIterator
            let second: SSEConnection
            (seen, second, secondEvents) = try await withThrowingTaskGroup(of: Void.self) { group in
                defer { stop.raise() }
                // A consumer from the start of the log; it leaves after two events.
                let first = try await SSEConnection.open(port: port, lastEventID: 0)
                var firstEvents = first.events.makeAsyncIterator()
                for (node, socket, user) in [("r1", "1.1", "u1"), ("r2", "2.1", "u2"), ("r2", "2.2", "u3"), ("r2", "2.3", "u1")] {
                    let response = try await relay.subscribe(try RelayFixtures.presence(node: node, socket: socket, user: user))
                    #expect(response.status == .ok, "\(response.text)")
                    if node == "r1" {
                        group.addTask {
                            while !stop.isRaised {
                                let lease = try await relay.send(.put, "/relay/v1/nodes/r1")
                                #expect(lease.status == .ok)
                                try await Task.sleep(for: .milliseconds(200))
                            }
                        }
                    }
                }
                let r2LastSpoke = ContinuousClock.now
                var seen = try await SSEConnection.read(&firstEvents) { $0.count == 2 }
                #expect(first.status == 200)
                #expect(first.contentType == "text/event-stream")
                await first.close()

                // Resume where it left off while r1 keeps heartbeating and r2 is silent.
                let deadline = Duration.milliseconds(Self.lease) + .seconds(3) - (ContinuousClock.now - r2LastSpoke)
                let second = try await SSEConnection.open(port: port, lastEventID: try #require(seen.last?.id), timeout: deadline)
                var secondEvents = second.events.makeAsyncIterator()
                seen += try await SSEConnection.read(&secondEvents) { events in
                    events.filter { $0.event == "member_removed" }.count == 2
                }
                stop.raise()
                try await group.waitForAll()
                return (seen, second, secondEvents)
            }
            #expect(Self.summary(seen) == [
                "1 channel_occupied", "2 member_added u1", "3 member_added u2", "4 member_added u3",
                "5 member_removed u2", "6 member_removed u3",
            ], "r2's members must be removed within lease + 3 s (the sweep runs every 50 ms; the rest is a loaded machine's slack); saw \(seen)")
            #expect(seen.first?.data == #"{"app":"3","channel":"presence-room"}"#)
            #expect(seen.last?.data == #"{"app":"3","channel":"presence-room","user_id":"u3"}"#)
            let presence = try await relay.presence()
            #expect(presence.presenceIDs == ["u1"])

            // r2 comes back and resyncs: its snapshot re-adds its members; then a public channel is occupied and
            // vacated. The still-open stream sees it all live.
            let snapshot = JSONValue.object(["subscriptions": .array([
                RelayFixtures.snapshotEntry(socket: "2.1", channel: "presence-room", user: "u2"),
                RelayFixtures.snapshotEntry(socket: "2.2", channel: "presence-room", user: "u3"),
                RelayFixtures.snapshotEntry(socket: "2.3", channel: "presence-room", user: "u1"),
            ])])
            #expect(try await relay.send(.put, "/relay/v1/nodes/r2/sockets", json: snapshot.jsonText).status == .ok)
            #expect(try await relay.subscribe(RelayFixtures.subscribe(socket: "1.1", channel: "news", auth: nil)).status == .ok)
            let leave = #"{"node":"r1","socket_id":"1.1","channel":"news"}"#
            #expect(try await relay.send(.delete, "/relay/v1/apps/3/subscriptions", json: leave).status == .ok)
            seen += try await SSEConnection.read(&secondEvents) { $0.count == 4 }
            await second.close()
            #expect(seen.map(\.id) == (1...10).map { Optional(UInt64($0)) }, "every event exactly once, in order: \(seen)")
            #expect(Self.summary(Array(seen.suffix(4))) == [
                "7 member_added u2", "8 member_added u3", "9 channel_occupied", "10 channel_vacated",
            ])
            try await Self.resumeAfterTheLog(port: port, relay: relay)
        }
    }

    /// With 8 events retained out of 10, resuming from 1 resets to the newest and streams on; from 2 replays 3…10.
    static func resumeAfterTheLog(port: Int, relay: RelayClient) async throws {
        let stale = try await SSEConnection.open(port: port, lastEventID: 1)
        var staleEvents = stale.events.makeAsyncIterator()
        let reset = try await SSEConnection.read(&staleEvents) { $0.count == 1 }
        #expect(reset == [SSEEvent(id: 10, event: "reset", data: #"{"latest":10}"#)])
        #expect(try await relay.subscribe(RelayFixtures.subscribe(socket: "1.1", channel: "news", auth: nil)).status == .ok)
        let next = try await SSEConnection.read(&staleEvents) { $0.count == 1 }
        #expect(summary(next) == ["11 channel_occupied"])
        await stale.close()

        let oldest = try await SSEConnection.open(port: port, lastEventID: 3)
        var oldestEvents = oldest.events.makeAsyncIterator()
        let replay = try await SSEConnection.read(&oldestEvents) { $0.count == 8 }
        #expect(replay.map(\.id) == (4...11).map { Optional(UInt64($0)) })
        await oldest.close()

        let future = try await SSEConnection.open(port: port, lastEventID: 500)
        var futureEvents = future.events.makeAsyncIterator()
        #expect(try await SSEConnection.read(&futureEvents) { $0.count == 1 }.first?.event == "reset")
        await future.close()

        let metrics = try await relay.send(.get, "/metrics").text.split(separator: "\n")
        #expect(metrics.contains("usher_sse_resets_total 2"), "\(metrics)")
        #expect(metrics.contains("usher_lease_expiries_total 1"), "\(metrics)")
    }

    /// `id kind [user]` per event.
    static func summary(_ events: [SSEEvent]) -> [String] {
        events.map { event in
            let user = (try? JSONValue.parse(event.data))?["user_id"]?.stringValue
            return ["\(event.id ?? 0)", event.event ?? "message", user].compactMap { $0 }.joined(separator: " ")
        }
    }
}
