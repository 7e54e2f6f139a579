import Testing
import UsherCore
import UsherCrypto

/// What happens after the relay closes a socket, when the client does not play along.
@Suite struct RelayCloseTests {
    @Test("a client ignoring the relay's close (terminate_connections) can neither subscribe nor send client events, and is dropped and removed")
    func ignoredClose() async throws {
        try await Testbed.run { bed in
            let ann = try await PusherSocket.connect(port: bed.relayPorts[0])
            try ann.subscribe("presence-room", channelData: #"{"user_id":"ann"}"#)
            _ = try await ann.next("pusher_internal:subscription_succeeded", channel: "presence-room")

            let eve = try await RawWebSocket.connect(port: bed.relayPorts[0])
            let socket = try SocketID(validating: eve.socketID)
            let channelData = #"{"user_id":"eve"}"#
            let presenceAuth = try TestApp.authorizer.authorizePresence(
                socketID: socket, channel: ChannelName(validating: "presence-room"), channelData: channelData).auth
            eve.send("pusher:subscribe", data: .object(["channel": .string("presence-room"), "auth": .string(presenceAuth), "channel_data": .string(channelData)]))
            _ = try await ann.next("pusher_internal:member_added", channel: "presence-room")

            let (status, body) = try await bed.trigger(
                port: bed.usherPort, path: "/apps/\(TestApp.id)/users/eve/terminate_connections", body: "{}")
            #expect(status == 200, "\(body)")
            #expect(try await eve.waitForCloseFrame() == 4009)

            // The client never answers the close and carries on.
            let afterData = #"{"user_id":"eve-again"}"#
            let afterAuth = try TestApp.authorizer.authorizePresence(
                socketID: socket, channel: ChannelName(validating: "presence-after"), channelData: afterData).auth
            eve.send("pusher:subscribe", data: .object(["channel": .string("presence-after"), "auth": .string(afterAuth), "channel_data": .string(afterData)]))
            eve.send("client-typing", data: .object(["text": .string("still here")]), channel: "presence-room")
            eve.send("pusher:ping", data: .object([:]))
            #expect(await ann.receives("client-typing", within: .milliseconds(800)) == false, "a closed socket's client event was relayed")
            let after = try await bed.usherGET("/relay/v1/apps/\(TestApp.id)/presence/presence-after")
            #expect((after?["presence"]?["count"] ?? .integer(0)) == .integer(0), "a closed socket could subscribe: \(after?.jsonText ?? "-")")
            #expect(!eve.received("pusher:pong"), "a closed socket was still answered")

            // The relay drops it (close grace 1 s, then swift-websocket's 5 s close timeout) and Usher forgets it.
            _ = try await ann.next("pusher_internal:member_removed", channel: "presence-room", timeout: .seconds(5))
            #expect(try await eve.waitForDisconnect(timeout: .seconds(10)), "the relay kept a socket that ignored its close")
            let presence = try await bed.usherGET("/relay/v1/apps/\(TestApp.id)/presence/presence-room")
            #expect(presence?["presence"]?["count"] == .integer(1))
            eve.abort()
            ann.abort()
        }
    }

    @Test("a client ignoring a refused signin's close (4009) cannot go on subscribing")
    func ignoredSigninClose() async throws {
        try await Testbed.run { bed in
            let mallory = try await RawWebSocket.connect(port: bed.relayPorts[0])
            let userData = #"{"id":"ann"}"#
            let forged = TestApp.authorizer.signIn(socketID: try SocketID(validating: "1.2"), userData: userData).auth
            mallory.send("pusher:signin", data: .object(["auth": .string(forged), "user_data": .string(userData)]))
            #expect(try await mallory.waitForCloseFrame() == 4009)
            mallory.send("pusher:subscribe", data: .object(["channel": .string("news")]))
            try await Task.sleep(for: .milliseconds(500))
            #expect(!mallory.received("pusher_internal:subscription_succeeded", channel: "news"))
            #expect(try await mallory.waitForDisconnect(timeout: .seconds(10)))
            mallory.abort()
        }
    }

    @Test("a client closed for not answering a ping (4201) is dropped and leaves presence even if it then carries on")
    func ignoredPongTimeoutClose() async throws {
        var settings = Testbed.Timings()
        settings.activityTimeout = .seconds(1)
        settings.pongTimeout = .milliseconds(500)
        try await Testbed.run(timings: settings) { bed in
            let pat = try await RawWebSocket.connect(port: bed.relayPorts[0])
            let channelData = #"{"user_id":"pat"}"#
            let auth = try TestApp.authorizer.authorizePresence(
                socketID: SocketID(validating: pat.socketID), channel: ChannelName(validating: "presence-idle"), channelData: channelData).auth
            pat.send("pusher:subscribe", data: .object(["channel": .string("presence-idle"), "auth": .string(auth), "channel_data": .string(channelData)]))
            #expect(try await NodeSyncTests.presenceCount(bed, channel: "presence-idle", reaching: 1) == .integer(1))
            #expect(try await pat.waitForCloseFrame(timeout: .seconds(5)) == 4201)
            #expect(pat.received("pusher:ping"))
            #expect(try await pat.waitForDisconnect(timeout: .seconds(10)), "the relay kept a socket that ignored its close")
            #expect(try await NodeSyncTests.presenceCount(bed, channel: "presence-idle", reaching: 0) == .integer(0))
            pat.abort()
        }
    }
}
