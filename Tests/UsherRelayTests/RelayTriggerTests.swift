import Testing
import UsherCore
import UsherCrypto

/// The trigger API app servers publish with, signed like the Pusher HTTP API.
@Suite struct RelayTriggerTests {
    @Test("a signed trigger reaches subscribers on every node; socket_id excludes that socket")
    func trigger() async throws {
        try await Testbed.run(relays: 2) { bed in
            let ann = try await PusherSocket.connect(port: bed.relayPorts[0])
            let bo = try await PusherSocket.connect(port: bed.relayPorts[1])
            for socket in [ann, bo] {
                try socket.subscribe("news")
                _ = try await socket.next("pusher_internal:subscription_succeeded")
            }
            let (status, body) = try await bed.trigger(body: #"{"name":"headline","channels":["news","sports"],"data":"{\"title\":\"Hi\"}"}"#)
            #expect(status == 200)
            #expect(body == "{}")
            for socket in [ann, bo] {
                let frame = try await socket.next("headline", channel: "news")
                #expect(frame["data"] == .string(#"{"title":"Hi"}"#), "data is relayed as the string the SDK sent")
            }
            let excluding = #"{"name":"echo","channel":"news","data":"x","socket_id":"\#(ann.socketID)"}"#
            #expect(try await bed.trigger(node: 1, body: excluding).0 == 200)
            _ = try await bo.next("echo")
            #expect(await ann.receives("echo", within: .milliseconds(300)) == false)
            let batch = #"{"batch":[{"name":"one","channel":"news","data":"1"},{"name":"two","channel":"news","data":"2"}]}"#
            #expect(try await bed.trigger(path: "/apps/\(TestApp.id)/batch_events", body: batch).0 == 200)
            _ = try await bo.next("one")
            _ = try await bo.next("two")
            ann.abort()
            bo.abort()
        }
    }

    @Test("unsigned, wrongly signed, unknown-app and malformed triggers are refused with a JSON error")
    func refusals() async throws {
        try await Testbed.run { bed in
            let valid = #"{"name":"x","channels":["news"],"data":"{}"}"#
            let wrong = try await bed.trigger(body: valid, secret: "not-the-secret")
            #expect(wrong.0 == 401)
            #expect(wrong.1.contains("auth_signature"))
            #expect(!wrong.1.contains(TestApp.secret))
            #expect(try await bed.trigger(path: "/apps/999/events", body: valid).0 == 404)
            #expect(try await bed.trigger(body: #"{"name":"x","channels":["bad channel"],"data":"{}"}"#).0 == 400)
            #expect(try await bed.trigger(body: #"{"name":"x","channels":["news"],"data":{"not":"a string"}}"#).0 == 400)
            #expect(try await bed.trigger(body: "[]").0 == 400)
            let tooBig = #"{"name":"x","channels":["news"],"data":"\#(String(repeating: "y", count: 11_000))"}"#
            #expect(try await bed.trigger(body: tooBig).0 == 413)
        }
    }
}
