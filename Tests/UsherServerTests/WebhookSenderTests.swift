import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import UsherCore
import UsherCrypto
import UsherStore
@testable import UsherServer

/// ``WebhookSender`` against a live loopback receiver: exact headers and signature, retries on 500 with the same bytes,
/// batching, ordering, per-app and per-kind filtering, and the delivery metrics.
@Suite struct WebhookSenderTests {
    /// What the receiver saw, and how many requests it should still fail with 500.
    final class Receiver: Sendable {
        struct Delivery: Sendable {
            let status: Int
            let contentType: String?
            let key: String?
            let signature: String?
            let body: String
        }

        private let state = Mutex<(failures: Int, deliveries: [Delivery])>((0, []))

        init(failing: Int = 0) {
            state.withLock { $0.failures = failing }
        }

        var deliveries: [Delivery] { state.withLock { $0.deliveries } }
        var delivered: [Delivery] { deliveries.filter { $0.status == 200 } }

        /// Event names and user ids (`member_added 42`) of the successful deliveries, in arrival order.
        var events: [String] {
            delivered.flatMap { delivery -> [String] in
                guard case .array(let events)? = (try? JSONValue.parse(delivery.body))?["events"] else { return ["unparsable"] }
                return events.map { [$0["name"]?.stringValue, $0["user_id"]?.stringValue ?? $0["channel"]?.stringValue].compactMap { $0 }.joined(separator: " ") }
            }
        }

        func router() -> Router<BasicRequestContext> {
            let router = Router()
            router.post("/hook") { request, _ -> Response in
                let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
                let status = self.state.withLock { (state: inout (failures: Int, deliveries: [Delivery])) -> Int in
                    let status = state.failures > 0 ? 500 : 200
                    state.failures -= status == 500 ? 1 : 0
                    state.deliveries.append(Delivery(
                        status: status, contentType: request.headers[.contentType], key: request.headers[HTTPField.Name("X-Pusher-Key")!],
                        signature: request.headers[HTTPField.Name("X-Pusher-Signature")!], body: body))
                    return status
                }
                return Response(status: .init(code: status))
            }
            return router
        }

        /// Polls until `condition` holds or 10 s pass.
        func wait(until condition: (Receiver) -> Bool) async throws {
            // Generous: the whole suite runs in parallel on two cores; a timeout is reported, not silently passed over.
            let deadline = ContinuousClock.now + .seconds(30)
            while !condition(self), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            if !condition(self) { Issue.record("receiver condition not met within 30 s") }
        }
    }

    /// Runs a sender for the §11 app posting to a live receiver, hands `test` the store, then stops the sender.
    static func withSender(
        _ receiver: Receiver, logCapacity: Int = 10_000, settings adjust: @Sendable (inout WebhookSettings) -> Void = { _ in },
        _ test: @Sendable (MemoryPresenceStore, UsherMetrics) async throws -> Void
    ) async throws {
        let app = Application(router: receiver.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Fixtures.quietLogger)
        try await app.test(.live) { client in
            var settings = WebhookSettings(url: "http://127.0.0.1:\(client.port!)/hook")
            settings.batchMillis = 50
            adjust(&settings)
            let store = MemoryPresenceStore(configuration: .init(graceMillis: 0, leaseMillis: 60_000), logCapacity: logCapacity)
            var configuration = UsherConfiguration()
            configuration.apps = [AppSettings(id: "3"), AppSettings(id: "4")]
            let other = try App(id: "4", key: "otherappkey000000000", secrets: [AppSecret(id: "s", secret: "other-secret-0000000", created: Date())])
            let registry = AppRegistryBox(try AppRegistry(apps: [try Fixtures.pusherApp(), other], configuration: configuration, now: Date()))
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let metrics = UsherMetrics()
            let sender = WebhookSender(
                appID: "3", settings: settings, store: store, registry: registry, client: http, metrics: metrics, logger: Fixtures.quietLogger)
            let running = Task { await sender.run() }
            // Setup only: run() starts at the log's newest event, so give it a moment to read it before joining.
            try await Task.sleep(for: .milliseconds(200))
            do { try await test(store, metrics) } catch {
                running.cancel()
                _ = await running.value
                try await http.shutdown()
                throw error
            }
            running.cancel()
            _ = await running.value
            try await http.shutdown()
        }
    }

    static func join(_ store: MemoryPresenceStore, _ user: String, socket: String, app: String = "3", channel: String = "presence-hook") async throws {
        let subscription = try Subscription(
            app: app, socketID: SocketID(validating: socket), channel: ChannelName(validating: channel), member: PresenceMember(userID: user))
        _ = try await store.join(subscription, node: try NodeID(validating: "r1"), limits: PresenceLimits())
    }

    @Test("a join is delivered once, batched, with exact headers, a valid signature and a fresh time_ms")
    func delivery() async throws {
        let receiver = Receiver()
        try await Self.withSender(receiver) { store, _ in
            try await Self.join(store, "42", socket: "1.1")
            try await receiver.wait { $0.events.count >= 2 }
            try await Task.sleep(for: .milliseconds(300))  // nothing more may follow
        }
        #expect(receiver.deliveries.count == 1)
        #expect(receiver.events == ["channel_occupied presence-hook", "member_added 42"])
        let delivery = try #require(receiver.deliveries.first)
        #expect(delivery.contentType == "application/json")
        #expect(delivery.key == Fixtures.appKey)
        #expect(delivery.signature == HMACKey(secret: Fixtures.appSecret).hexMAC(delivery.body))
        let time = try #require((try JSONValue.parse(delivery.body))["time_ms"])
        guard case .integer(let millis) = time else { Issue.record("time_ms is not an integer"); return }
        #expect(abs(Double(millis) / 1000 - Date().timeIntervalSince1970) < 30)
    }

    @Test("a receiver failing twice gets the same bytes again and again until it answers 200; later batches wait")
    func retries() async throws {
        let receiver = Receiver(failing: 2)
        try await Self.withSender(receiver) { store, metrics in
            try await Self.join(store, "1", socket: "1.1")
            try await Task.sleep(for: .milliseconds(150))  // the first batch is sealed and failing
            try await Self.join(store, "2", socket: "2.1")
            try await store.leave(app: "3", socketID: SocketID(validating: "1.1"), channel: ChannelName(validating: "presence-hook"))
            try await receiver.wait { $0.events.count >= 4 }
            // The sender counts a delivery after the receiver has answered it: poll briefly for the counter.
            let delivered = #"usher_webhook_events_total{app="3",result="delivered"} 4"#
            let deadline = ContinuousClock.now + .seconds(10)
            while !metrics.exposition().contains(delivered), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let exposition = metrics.exposition()
            #expect(exposition.contains(#"usher_webhook_batches_total{app="3",result="retried"} 2"#), "\(exposition)")
            #expect(exposition.contains(delivered), "\(exposition)")
        }
        let statuses = receiver.deliveries.map(\.status)
        #expect(Array(statuses.prefix(3)) == [500, 500, 200])
        #expect(Set(receiver.deliveries.prefix(3).map(\.body)).count == 1, "a retry resends the exact bytes")
        #expect(receiver.events == ["channel_occupied presence-hook", "member_added 1", "member_added 2", "member_removed 1"])
        for delivery in receiver.deliveries {
            #expect(delivery.signature == HMACKey(secret: Fixtures.appSecret).hexMAC(delivery.body))
        }
    }

    @Test("batch_max splits batches in order; other apps' events and unselected kinds are not sent")
    func batchingAndFilters() async throws {
        let receiver = Receiver()
        try await Self.withSender(receiver, settings: { $0.batchMax = 2; $0.events = [.memberAdded] }) { store, _ in
            try await Self.join(store, "x", socket: "9.9", app: "4")
            for index in 1...5 { try await Self.join(store, "\(index)", socket: "\(index).1") }
            try await receiver.wait { $0.events.count >= 5 }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(receiver.events == (1...5).map { "member_added \($0)" })
        #expect(receiver.deliveries.allSatisfy { delivery in
            guard case .array(let events)? = (try? JSONValue.parse(delivery.body))?["events"] else { return false }
            return events.count <= 2
        })
    }

    @Test("a sender that falls behind the bounded log counts the skipped events as overflow and carries on")
    func overflow() async throws {
        let receiver = Receiver(failing: 1)
        try await Self.withSender(receiver, logCapacity: 50) { store, metrics in
            try await Self.join(store, "0", socket: "1.1")
            try await receiver.wait { $0.deliveries.count >= 1 }  // the first batch failed; the sender is backing off
            // While the sender backs off (≥ 250 ms), the burst overflows the 50-event log and "last" is logged too:
            // after its retry the sender must skip only what the log lost and still deliver the retained tail.
            for index in 1...100 { try await Self.join(store, "u", socket: "2.1", channel: "presence-burst-\(index)") }
            try await Self.join(store, "last", socket: "3.1", channel: "presence-after")
            try await receiver.wait { $0.events.last == "member_added last" }
            #expect(metrics.exposition().contains(#"usher_webhook_overflow_events_total{app="3"}"#))
        }
        #expect(Array(receiver.events.prefix(2)) == ["channel_occupied presence-hook", "member_added 0"])
        #expect(Array(receiver.events.suffix(2)) == ["channel_occupied presence-after", "member_added last"])
        #expect(receiver.events.count < 204, "events that fell out of the log were skipped, not resent")
    }
}
