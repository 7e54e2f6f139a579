import Testing
import UsherCore
import UsherCrypto
@testable import UsherRelay

/// Watchlist online status (PUSHER-PROTOCOL.md §9a): a user is online while a signed-in connection of theirs exists
/// on any node (and for the leave grace after the last one goes); a connection signing in with a watchlist gets the
/// watched users online now, then each change, as `pusher_internal:watchlist_events`.
@Suite struct RelayWatchlistTests {
    /// Signs `socket` in as `user` with `watchlist`, as pusher-js does with Usher's signed user_data.
    static func signIn(_ socket: PusherSocket, as user: String, watching watchlist: [String]? = nil) async throws {
        var userData = #"{"id":"\#(user)""#
        if let watchlist { userData += #","watchlist":"# + JSONValue.array(watchlist.map(JSONValue.string)).jsonText }
        userData += "}"
        let auth = TestApp.authorizer.signIn(socketID: try SocketID(validating: socket.socketID), userData: userData).auth
        socket.send("pusher:signin", data: .object(["auth": .string(auth), "user_data": .string(userData)]))
        _ = try await socket.next("pusher:signin_success")
    }

    /// The next watchlist event: its name and user ids.
    static func nextEvent(_ socket: PusherSocket, timeout: Duration = .seconds(5)) async throws -> String {
        let frame = try await socket.next("pusher_internal:watchlist_events", timeout: timeout)
        guard case .array(let events)? = PusherSocket.data(frame)?["events"], events.count == 1,
            let name = events[0]["name"]?.stringValue, case .array(let ids)? = events[0]["user_ids"]
        else { return "malformed \(frame)" }
        return name + ":" + ids.compactMap(\.stringValue).joined(separator: ",")
    }

    @Test("the first list names who is online now; sign-ins and sign-outs on any node follow, offline after the grace")
    func onlineStatus() async throws {
        var timings = Testbed.Timings()
        timings.watchlistMaxIDs = 3
        timings.graceMillis = 1500
        try await Testbed.run(relays: 2, timings: timings) { bed in
            let bob = try await PusherSocket.connect(port: bed.relayPorts[1])
            try await Self.signIn(bob, as: "bob")
            let ann = try await PusherSocket.connect(port: bed.relayPorts[0])
            try await Self.signIn(ann, as: "ann", watching: ["bob", "cy", "dee"])
            #expect(try await Self.nextEvent(ann) == "online:bob")

            // cy signs in on the other node, then a second tab; only the first makes cy online.
            let cy = try await PusherSocket.connect(port: bed.relayPorts[1])
            try await Self.signIn(cy, as: "cy")
            #expect(try await Self.nextEvent(ann) == "online:cy")
            let cy2 = try await PusherSocket.connect(port: bed.relayPorts[0])
            try await Self.signIn(cy2, as: "cy")
            cy.abort()
            // One tab left: cy stays online.
            #expect(await ann.receives("pusher_internal:watchlist_events", within: .milliseconds(700)) == false)

            // bob's last connection goes: offline once the grace has passed.
            bob.abort()
            #expect(try await Self.nextEvent(ann) == "offline:bob")
            // A page reload inside the grace is not seen at all.
            cy2.abort()
            let cy3 = try await PusherSocket.connect(port: bed.relayPorts[1])
            try await Self.signIn(cy3, as: "cy")
            #expect(await ann.receives("pusher_internal:watchlist_events", within: .milliseconds(700)) == false)
            // Users nobody watches cause nothing; unknown ones are simply never online.
            let eve = try await PusherSocket.connect(port: bed.relayPorts[0])
            try await Self.signIn(eve, as: "eve")
            #expect(await ann.receives("pusher_internal:watchlist_events", within: .milliseconds(500)) == false)
            for socket in [ann, cy3, eve] { socket.abort() }
        }
    }

    @Test("more ids than the app allows: pusher:error 4302 and no watchlist events; apps without a watchlist get none")
    func limits() async throws {
        var timings = Testbed.Timings()
        timings.watchlistMaxIDs = 2
        try await Testbed.run(timings: timings) { bed in
            let ann = try await PusherSocket.connect(port: bed.relayPorts[0])
            try await Self.signIn(ann, as: "ann", watching: ["a", "b", "c"])
            let error = try await ann.next("pusher:error")
            #expect(PusherSocket.data(error)?["code"] == .integer(4302))
            #expect(await ann.receives("pusher_internal:watchlist_events", within: .milliseconds(300)) == false)
            // Signing in again with a shorter list starts it.
            try await Self.signIn(ann, as: "ann", watching: ["a", "b"])
            #expect(try await Self.nextEvent(ann) == "online:")
            ann.abort()
        }
        try await Testbed.run { bed in
            let ann = try await PusherSocket.connect(port: bed.relayPorts[0])
            try await Self.signIn(ann, as: "ann", watching: ["bob"])
            #expect(await ann.receives("pusher_internal:watchlist_events", within: .milliseconds(500)) == false)
            ann.abort()
        }
    }
}
