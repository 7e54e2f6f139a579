import Testing
import UsherCore
import UsherCrypto

/// Subscriptions verified by Usher through the relay API; client events and sign-in.
@Suite struct RelaySubscriptionTests {
    @Test("public, private and encrypted subscriptions succeed with the app's signature")
    func subscribe() async throws {
        try await Testbed.run { bed in
            let socket = try await PusherSocket.connect(port: bed.relayPorts[0])
            for channel in ["news", "private-foobar", "private-encrypted-foobar"] {
                try socket.subscribe(channel)
                let frame = try await socket.next("pusher_internal:subscription_succeeded", channel: channel)
                #expect(frame["data"]?.stringValue == "{}")
            }
            socket.abort()
        }
    }

    @Test("a forged auth gets a channel-scoped subscription_error 403 and the socket stays usable")
    func forged() async throws {
        try await Testbed.run { bed in
            let socket = try await PusherSocket.connect(port: bed.relayPorts[0])
            try socket.subscribe("private-foobar", auth: TestApp.key + ":" + String(repeating: "0", count: 64))
            let error = try await socket.next("pusher:subscription_error", channel: "private-foobar")
            let data = PusherSocket.data(error)
            #expect(data?["type"] == .string("AuthError"))
            #expect(data?["status"] == .integer(403))
            #expect(data?["error"]?.stringValue?.isEmpty == false)
            // Presence data signed for another socket is refused the same way.
            let channelData = #"{"user_id":"mallory"}"#
            let stolen = try TestApp.authorizer.authorizePresence(
                socketID: SocketID(validating: "1.2"), channel: ChannelName(validating: "presence-room"), channelData: channelData)
            try socket.subscribe("presence-room", channelData: channelData, auth: stolen.auth)
            _ = try await socket.next("pusher:subscription_error", channel: "presence-room")
            socket.send("pusher:ping", data: .object([:]))
            _ = try await socket.next("pusher:pong")
            try socket.subscribe("private-foobar")
            _ = try await socket.next("pusher_internal:subscription_succeeded", channel: "private-foobar")
            #expect(try await bed.trigger(body: #"{"name":"after","channels":["private-foobar"],"data":"{}"}"#).0 == 200)
            _ = try await socket.next("after", channel: "private-foobar")
            socket.abort()
        }
    }

    @Test("client events reach the other subscribers (also on another node), never the sender, with user_id on presence")
    func clientEvents() async throws {
        try await Testbed.run(relays: 2) { bed in
            let ann = try await PusherSocket.connect(port: bed.relayPorts[0])
            let bo = try await PusherSocket.connect(port: bed.relayPorts[1])
            for (socket, user) in [(ann, "ann"), (bo, "bo")] {
                try socket.subscribe("presence-chat", channelData: #"{"user_id":"\#(user)"}"#)
                try socket.subscribe("private-chat")
                try socket.subscribe("public-chat")
                _ = try await socket.next("pusher_internal:subscription_succeeded", channel: "presence-chat")
                _ = try await socket.next("pusher_internal:subscription_succeeded", channel: "private-chat")
                _ = try await socket.next("pusher_internal:subscription_succeeded", channel: "public-chat")
            }
            ann.send("client-typing", data: .object(["text": .string("hi")]), channel: "presence-chat")
            let typed = try await bo.next("client-typing", channel: "presence-chat")
            #expect(typed["user_id"] == .string("ann"))
            #expect(typed["data"]?["text"] == .string("hi"))
            ann.send("client-typing", data: .object(["text": .string("psst")]), channel: "private-chat")
            let whispered = try await bo.next("client-typing", channel: "private-chat")
            #expect(whispered["user_id"] == nil)
            #expect(await ann.receives("client-typing", within: .milliseconds(300)) == false, "the sender must not get its own event")
            // Refused: public channels, channels not subscribed to.
            ann.send("client-typing", data: .object([:]), channel: "public-chat")
            #expect(try await ann.next("pusher:error")["data"]?["code"] == .integer(4301))
            ann.send("client-typing", data: .object([:]), channel: "private-elsewhere")
            #expect(try await ann.next("pusher:error")["data"]?["code"] == .integer(4301))
            #expect(await bo.receives("client-typing", within: .milliseconds(300)) == false)
            ann.abort()
            bo.abort()
        }
    }

    @Test("pusher:signin is verified by Usher: a valid one succeeds (its user channel confirmed), a forged one closes the socket with 4009")
    func signin() async throws {
        try await Testbed.run { bed in
            let socket = try await PusherSocket.connect(port: bed.relayPorts[0])
            let userData = #"{"id":"ann","user_info":{"name":"Ann"}}"#
            let auth = TestApp.authorizer.signIn(socketID: try SocketID(validating: socket.socketID), userData: userData).auth
            socket.send("pusher:signin", data: .object(["auth": .string(auth), "user_data": .string(userData)]))
            let success = try await socket.next("pusher:signin_success")
            #expect(PusherSocket.data(success)?["user_data"] == .string(userData))
            // pusher-js then subscribes to the user's channel itself: confirmed, not refused.
            socket.send("pusher:subscribe", data: .object(["channel": .string("#server-to-user-ann")]))
            let confirmed = try await socket.next("pusher_internal:subscription_succeeded", channel: "#server-to-user-ann")
            #expect(PusherSocket.data(confirmed) == .object([:]))
            // Events for the user reach the signed-in socket.
            #expect(try await bed.trigger(body: ##"{"name":"hello","channels":["#server-to-user-ann"],"data":"{}"}"##).0 == 200)
            _ = try await socket.next("hello", channel: "#server-to-user-ann")
            // Another user's channel, or any before signing in, is refused.
            socket.send("pusher:subscribe", data: .object(["channel": .string("#server-to-user-bo")]))
            let refused = try await socket.next("pusher:subscription_error", channel: "#server-to-user-bo")
            #expect(PusherSocket.data(refused)?["status"] == .integer(403))
            let anonymous = try await PusherSocket.connect(port: bed.relayPorts[0])
            anonymous.send("pusher:subscribe", data: .object(["channel": .string("#server-to-user-ann")]))
            _ = try await anonymous.next("pusher:subscription_error", channel: "#server-to-user-ann")
            #expect(try await bed.trigger(body: ##"{"name":"again","channels":["#server-to-user-ann"],"data":"{}"}"##).0 == 200)
            #expect(await anonymous.receives("again", within: .milliseconds(300)) == false)
            anonymous.abort()

            let forger = try await PusherSocket.connect(port: bed.relayPorts[0])
            forger.send("pusher:signin", data: .object(["auth": .string(auth), "user_data": .string(userData)]))
            #expect(try await forger.next("pusher:error")["data"]?["code"] == .integer(4009))
            #expect(try await forger.waitForClose() == 4009)
            socket.abort()
        }
    }
}
