import Testing
import UsherCore
import UsherCrypto

/// Presence across relay nodes: Usher keeps the members, each node fans out Usher's member events.
@Suite struct RelayPresenceTests {
    @Test("members joining on one node are seen on the other; an abrupt disconnect removes the member after the grace")
    func acrossNodes() async throws {
        try await Testbed.run(relays: 2) { bed in
            let ann = try await PusherSocket.connect(port: bed.relayPorts[0])
            try ann.subscribe("presence-room", channelData: #"{"user_id":"ann","user_info":{"name":"Ann"}}"#)
            let first = try await ann.next("pusher_internal:subscription_succeeded", channel: "presence-room")
            #expect(first["data"]?.stringValue != nil, "presence data must be a JSON string")
            #expect(PusherSocket.data(first)?["presence"]?["count"] == .integer(1))
            #expect(PusherSocket.data(first)?["presence"]?["hash"]?["ann"]?["name"] == .string("Ann"))

            let bo = try await PusherSocket.connect(port: bed.relayPorts[1])
            try bo.subscribe("presence-room", channelData: #"{"user_id":"bo"}"#)
            let second = PusherSocket.data(try await bo.next("pusher_internal:subscription_succeeded", channel: "presence-room"))
            #expect(second?["presence"]?["count"] == .integer(2))
            #expect(second?["presence"]?["hash"]?["bo"] == .object([:]))

            let added = PusherSocket.data(try await ann.next("pusher_internal:member_added", channel: "presence-room"))
            #expect(added == .object(["user_id": .string("bo")]))
            #expect(await bo.receives("pusher_internal:member_added", within: .milliseconds(300)) == false, "no member_added about oneself")

            bo.abort()
            let removed = PusherSocket.data(try await ann.next("pusher_internal:member_removed", channel: "presence-room"))
            #expect(removed == .object(["user_id": .string("bo")]))
            let presence = try await bed.usherGET("/relay/v1/apps/\(TestApp.id)/presence/presence-room")
            #expect(presence?["presence"]?["count"] == .integer(1))
            ann.abort()
        }
    }

    @Test("a second socket of a member adds no member; unsubscribing the last one removes it")
    func secondSocket() async throws {
        try await Testbed.run { bed in
            let watcher = try await PusherSocket.connect(port: bed.relayPorts[0])
            try watcher.subscribe("presence-tabs", channelData: #"{"user_id":"w"}"#)
            _ = try await watcher.next("pusher_internal:subscription_succeeded")
            let tab1 = try await PusherSocket.connect(port: bed.relayPorts[0])
            let tab2 = try await PusherSocket.connect(port: bed.relayPorts[0])
            for tab in [tab1, tab2] {
                try tab.subscribe("presence-tabs", channelData: #"{"user_id":"cy"}"#)
                _ = try await tab.next("pusher_internal:subscription_succeeded")
            }
            _ = try await watcher.next("pusher_internal:member_added")
            #expect(await watcher.receives("pusher_internal:member_added", within: .milliseconds(300)) == false)
            tab1.send("pusher:unsubscribe", data: .object(["channel": .string("presence-tabs")]))
            #expect(await watcher.receives("pusher_internal:member_removed", within: .milliseconds(600)) == false)
            tab2.send("pusher:unsubscribe", data: .object(["channel": .string("presence-tabs")]))
            _ = try await watcher.next("pusher_internal:member_removed")
            for socket in [watcher, tab1, tab2] { socket.abort() }
        }
    }

    @Test("Usher's terminate_connections closes that user's sockets on every node")
    func terminate() async throws {
        try await Testbed.run(relays: 2) { bed in
            let victim = try await PusherSocket.connect(port: bed.relayPorts[1])
            try victim.subscribe("presence-room", channelData: #"{"user_id":"eve"}"#)
            _ = try await victim.next("pusher_internal:subscription_succeeded")
            let bystander = try await PusherSocket.connect(port: bed.relayPorts[0])
            try bystander.subscribe("presence-room", channelData: #"{"user_id":"ann"}"#)
            _ = try await bystander.next("pusher_internal:subscription_succeeded")
            let (status, body) = try await bed.trigger(
                port: bed.usherPort, path: "/apps/\(TestApp.id)/users/eve/terminate_connections", body: "{}")
            #expect(status == 200, "\(body)")
            #expect(try await victim.next("pusher:error")["data"]?["code"] == .integer(4009))
            #expect(try await victim.waitForClose() == 4009)
            _ = try await bystander.next("pusher_internal:member_removed")
            bystander.send("pusher:ping", data: .object([:]))
            _ = try await bystander.next("pusher:pong")
            bystander.abort()
        }
    }

    @Test("a full presence channel is refused with LimitReached, scoped to the channel")
    func full() async throws {
        try await Testbed.run { bed in
            let socket = try await PusherSocket.connect(port: bed.relayPorts[0])
            let big = #"{"user_id":"big","user_info":{"blob":"\#(String(repeating: "x", count: 2000))"}}"#
            try socket.subscribe("presence-big", channelData: big)
            let error = PusherSocket.data(try await socket.next("pusher:subscription_error", channel: "presence-big"))
            #expect(error?["type"] == .string("LimitReached"))
            #expect(error?["status"] == .integer(4301))
            socket.abort()
        }
    }
}

/// Usher restarting (memory store: members, epoch and event log lost) while relays keep their sockets.
@Suite struct RelayResyncTests {
    @Test("after an Usher restart the relays resync their sockets, and member events flow again across nodes")
    func usherRestart() async throws {
        try await Testbed.run(relays: 2) { bed in
            let ann = try await PusherSocket.connect(port: bed.relayPorts[0])
            let bo = try await PusherSocket.connect(port: bed.relayPorts[1])
            for (socket, user) in [(ann, "ann"), (bo, "bo")] {
                try socket.subscribe("presence-room", channelData: #"{"user_id":"\#(user)"}"#)
                _ = try await socket.next("pusher_internal:subscription_succeeded")
            }
            _ = try await ann.next("pusher_internal:member_added")

            await bed.usher.stop()
            try await bed.usher.start()
            // The heartbeat sees a new epoch and puts each node's snapshot back.
            var ids: [String] = []
            for _ in 0..<100 where ids != ["ann", "bo"] {
                try await Task.sleep(for: .milliseconds(50))
                let presence = try? await bed.usherGET("/relay/v1/apps/\(TestApp.id)/presence/presence-room")
                if case .array(let list)? = presence?["presence"]?["ids"] { ids = list.compactMap(\.stringValue).sorted() }
            }
            #expect(ids == ["ann", "bo"])
            // Nobody left: no client may have been told a remote member left while the nodes resynced one by one.
            try await Task.sleep(for: .milliseconds(2500))
            for (socket, other) in [(ann, "bo"), (bo, "ann")] {
                let flicker = socket.frames.filter { $0.contains("member_removed") && $0.contains(#"\"\#(other)\""#) }
                #expect(flicker.isEmpty, "a remote member flickered out after the reset: \(flicker)")
            }
            bo.discardReceived()

            // The event streams resumed (Usher answered the stale Last-Event-ID with reset): joins are seen again.
            let cy = try await PusherSocket.connect(port: bed.relayPorts[0])
            try cy.subscribe("presence-room", channelData: #"{"user_id":"cy"}"#)
            let joined = PusherSocket.data(try await cy.next("pusher_internal:subscription_succeeded"))
            #expect(joined?["presence"]?["count"] == .integer(3))
            let added = try await bo.next("pusher_internal:member_added", timeout: .seconds(8))
            #expect(PusherSocket.data(added)?["user_id"] == .string("cy"))
            ann.abort()
            let removed = try await bo.next("pusher_internal:member_removed", timeout: .seconds(8))
            #expect(PusherSocket.data(removed)?["user_id"] == .string("ann"))
            bo.abort()
            cy.abort()
        }
    }
}
