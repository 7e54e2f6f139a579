import Testing
import UsherCore
import UsherCrypto

/// Per-connection limits, and Usher answers that are not the client's fault.
@Suite struct RelayLimitsTests {
    @Test("subscriptions beyond the per-connection cap get LimitReached 4100 and the socket stays usable")
    func subscriptionCap() async throws {
        var settings = Testbed.Timings()
        settings.maxSubscriptionsPerConnection = 3
        try await Testbed.run(timings: settings) { bed in
            let socket = try await PusherSocket.connect(port: bed.relayPorts[0])
            for channel in ["one", "two", "private-three"] {
                try socket.subscribe(channel)
                _ = try await socket.next("pusher_internal:subscription_succeeded", channel: channel)
            }
            try socket.subscribe("four")
            let error = PusherSocket.data(try await socket.next("pusher:subscription_error", channel: "four"))
            #expect(error?["type"] == .string("LimitReached"))
            #expect(error?["error"] == .string("Too many subscriptions"))
            #expect(error?["status"] == .integer(4100))
            // Subscribing again to a channel it has is no new subscription.
            try socket.subscribe("two")
            _ = try await socket.next("pusher_internal:subscription_succeeded", channel: "two")
            // A sign-in does not count against the cap.
            let userData = #"{"id":"ann"}"#
            let auth = TestApp.authorizer.signIn(socketID: try SocketID(validating: socket.socketID), userData: userData).auth
            socket.send("pusher:signin", data: .object(["auth": .string(auth), "user_data": .string(userData)]))
            _ = try await socket.next("pusher:signin_success")
            socket.send("pusher:unsubscribe", data: .object(["channel": .string("one")]))
            try socket.subscribe("four")
            _ = try await socket.next("pusher_internal:subscription_succeeded", channel: "four")
            socket.abort()
        }
    }

    @Test("a relay token Usher rejects (401) gives ServerError and a null-code pusher:error, never a 4009 close")
    func usherRefusesTheRelay() async throws {
        var settings = Testbed.Timings()
        settings.relayToken = "not-the-relay-token-0123456789abcdef-0123456789"
        try await Testbed.run(timings: settings) { bed in
            let socket = try await PusherSocket.connect(port: bed.relayPorts[0])
            try socket.subscribe("private-foobar")
            let error = PusherSocket.data(try await socket.next("pusher:subscription_error", channel: "private-foobar"))
            #expect(error?["type"] == .string("ServerError"))
            #expect(error?["status"] == .integer(401))
            let userData = #"{"id":"ann"}"#
            let auth = TestApp.authorizer.signIn(socketID: try SocketID(validating: socket.socketID), userData: userData).auth
            socket.send("pusher:signin", data: .object(["auth": .string(auth), "user_data": .string(userData)]))
            let refused = try await socket.next("pusher:error")
            #expect(refused["data"]?["code"] == .null)
            socket.send("pusher:ping", data: .object([:]))
            _ = try await socket.next("pusher:pong")
            socket.abort()
        }
    }
}
