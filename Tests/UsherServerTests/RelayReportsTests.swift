import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// `POST /relay/v1/nodes/{node}/reports`: client events and cache misses relays report are logged for the apps
/// whose webhooks list them, with what the webhooks carry; the rest are skipped; bad reports are a 400.
@Suite struct RelayReportsTests {
    static let clientEvent =
        #"{"kind":"client_event","app":"3","channel":"presence-room","event":"client-typing","data":"{\"n\":1}","socket_id":"1.2","user_id":"ann"}"#
    static let cacheMiss = #"{"kind":"cache_miss","app":"3","channel":"cache-prices"}"#

    @Test("listed kinds are logged in order with the webhook members; unlisted kinds and unknown apps are skipped")
    func logged() async throws {
        let server = try RelayServer(webhookEvents: [.clientEvent, .memberAdded])
        try await server.run { client in
            let body = #"{"reports":["# + [Self.clientEvent, Self.cacheMiss, #"{"kind":"cache_miss","app":"nope","channel":"cache-x"}"#]
                .joined(separator: ",") + "]}"
            let response = try await client.send(.post, "/relay/v1/nodes/r1/reports", json: body)
            #expect(response.status == .ok)
            #expect(response.text == #"{"logged":1}"#)
        }
        guard case .events(let events) = server.store.events(after: 0, limit: 10) else { throw CancellationError() }
        #expect(events.map(\.kind) == [.clientEvent])
        #expect(
            events.first?.data
                == #"{"app":"3","channel":"presence-room","user_id":"ann","event":"client-typing","data":"{\"n\":1}","socket_id":"1.2"}"#)
        #expect(
            WebhookBody.make(events, timeMillis: 1)
                == #"{"time_ms":1,"events":[{"name":"client_event","channel":"presence-room","user_id":"ann","event":"client-typing","data":"{\"n\":1}","socket_id":"1.2"}]}"#)
    }

    @Test("malformed reports are refused whole with 400 naming the field; nothing is logged", arguments: [
        (#"{"reports":{}}"#, "reports"),
        (#"{"reports":[{"kind":"typing","app":"3","channel":"c"}]}"#, "kind"),
        (#"{"reports":[{"kind":"client_event","app":"3","channel":"private-a","event":"typing","data":"","socket_id":"1.1"}]}"#, "client event"),
        (#"{"reports":[{"kind":"client_event","app":"3","channel":"private-a","event":"client-a","socket_id":"1.1"}]}"#, "data"),
        (#"{"reports":[{"kind":"cache_miss","app":"3","channel":"bad channel"}]}"#, "channel"),
    ])
    func refused(body: String, fragment: String) async throws {
        let server = try RelayServer(webhookEvents: [.clientEvent, .cacheMiss])
        try await server.run { client in
            let response = try await client.send(.post, "/relay/v1/nodes/r1/reports", json: body)
            #expect(response.status == .badRequest)
            #expect(response.text.contains(fragment), "\(response.text)")
        }
        #expect(server.logged().isEmpty)
    }

    @Test("more than 1,000 reports: 413")
    func tooMany() async throws {
        let server = try RelayServer(webhookEvents: [.cacheMiss])
        try await server.run { client in
            let body = #"{"reports":["# + Array(repeating: Self.cacheMiss, count: 1001).joined(separator: ",") + "]}"
            let response = try await client.send(.post, "/relay/v1/nodes/r1/reports", json: body)
            #expect(response.status == .contentTooLarge)
        }
        #expect(server.logged().isEmpty)
    }
}
