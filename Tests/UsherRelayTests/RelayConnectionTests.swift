import Testing
import UsherCore
import UsherCrypto
@testable import UsherRelay

/// Connection-level protocol: handshake, refusals, ping/pong and idle timeouts, malformed input.
@Suite struct RelayConnectionTests {
    @Test("connection_established carries a Pusher socket id and the activity timeout as a JSON string")
    func established() async throws {
        try await Testbed.run { bed in
            let socket = try await PusherSocket.connect(port: bed.relayPorts[0])
            let frame = try await socket.next("pusher:connection_established")
            #expect(frame["data"]?.stringValue != nil, "data must be a JSON string")
            let data = PusherSocket.data(frame)
            #expect((try? SocketID(validating: socket.socketID)) != nil, "socket id \(socket.socketID)")
            #expect(data?["activity_timeout"] == .integer(60))
            socket.abort()
        }
    }

    @Test("the WebSocket endpoint is /app/<key> with its query; any other path is not upgraded")
    func endpoint() async throws {
        #expect(WebSocketSession.appKey(inTarget: "/app/k1?protocol=7&client=js") == "k1")
        #expect(WebSocketSession.appKey(inTarget: "/app/k1/") == "k1")
        #expect(WebSocketSession.appKey(inTarget: "/app") == nil)
        #expect(WebSocketSession.appKey(inTarget: "/app/k1/x") == nil)
        #expect(WebSocketSession.appKey(inTarget: "/apps/k1") == nil)
        try await Testbed.run { bed in
            let socket = try await PusherSocket.connect(port: bed.relayPorts[0])
            _ = try await socket.next("pusher:connection_established")
            socket.abort()
            await #expect(throws: (any Error).self) { try await PusherSocket.connect(port: bed.relayPorts[0], key: "\(TestApp.key)/x") }
        }
    }

    @Test("ping is answered with pong; malformed JSON and unknown events get an error frame and the socket stays open")
    func pingAndMalformed() async throws {
        try await Testbed.run { bed in
            let socket = try await PusherSocket.connect(port: bed.relayPorts[0])
            socket.sendRaw("{not json")
            _ = try await socket.next("pusher:error")
            socket.send("pusher:bogus", data: .object([:]))
            _ = try await socket.next("pusher:error")
            socket.send("pusher:subscribe", data: .object([:]))
            _ = try await socket.next("pusher:error")
            socket.send("pusher:ping", data: .object([:]))
            _ = try await socket.next("pusher:pong")
            socket.abort()
        }
    }

    @Test("a silent client is pinged after the activity timeout and closed with 4201 when it never answers")
    func idleTimeout() async throws {
        var timings = Testbed.Timings()
        timings.activityTimeout = .seconds(1)
        // Room for a loaded machine between the ping arriving and the test answering it.
        timings.pongTimeout = .seconds(6)
        try await Testbed.run(timings: timings) { bed in
            let answering = try await PusherSocket.connect(port: bed.relayPorts[0])
            let silent = try await PusherSocket.connect(port: bed.relayPorts[0])
            _ = try await answering.next("pusher:ping", timeout: .seconds(5))
            answering.send("pusher:pong", data: .object([:]))
            _ = try await silent.next("pusher:ping", timeout: .seconds(5))
            #expect(try await silent.waitForClose(timeout: .seconds(12)) == 4201)
            // The one that answered is pinged again later, never closed for the first ping.
            _ = try await answering.next("pusher:ping", timeout: .seconds(5))
            answering.send("pusher:pong", data: .object([:]))
            answering.send("pusher:ping", data: .object([:]))
            _ = try await answering.next("pusher:pong")
            answering.abort()
        }
    }
}
