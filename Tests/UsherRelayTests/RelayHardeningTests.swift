import Foundation
import Testing
import UsherCore
import UsherServer
import NIOCore
@testable import UsherRelay

/// The relay under careless or hostile clients: connections that never finish their request, trickled bodies, and
/// WebSocket frames RFC 6455 forbids.
@Suite struct RelayHardeningTests {
    static let timings = {
        var timings = Testbed.Timings()
        timings.handshakeTimeout = .milliseconds(600)
        timings.requestBodyTimeout = .milliseconds(600)
        return timings
    }()

    /// The head of a trigger API request whose body is `length` bytes.
    static func triggerHead(length: Int) -> String {
        "POST /apps/\(TestApp.id)/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(length)\r\n\r\n"
    }

    @Test("a connection that stays silent, or trickles a partial request, is answered 408 and closed at the handshake deadline")
    func handshakeDeadline() async throws {
        try await Testbed.run(timings: Self.timings) { bed in
            let port = bed.relayPorts[0]
            let silent = try await RawTCPConnection.connect(port: port)
            let trickling = try await RawTCPConnection.connect(port: port)
            await trickling.send("GET /app/\(TestApp.key)?protocol=7 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            async let silentClosed = silent.waitForClose(limit: .seconds(5))
            // One more header byte every 100 ms: the deadline is on the whole head, not on silence.
            let trickled = try await trickling.waitForClose(limit: .seconds(5), trickle: "X")
            let silentTime = try await silentClosed
            #expect(silentTime != nil && trickled != nil, "both closed within 5 s (deadline 0.6 s)")
            #expect(silent.received.hasPrefix("HTTP/1.1 408 "))
            #expect(trickling.received.hasPrefix("HTTP/1.1 408 "))
            #expect(try await Testbed.metric(port: port, "usher_relay_connections_failed_total", labelsContaining: "handshake_timeout") == 2)
        }
    }

    @Test("the handshake deadline ends with the upgrade: a quiet WebSocket and a kept-alive HTTP connection stay open")
    func deadlineEndsWithTheHead() async throws {
        try await Testbed.run(timings: Self.timings) { bed in
            let port = bed.relayPorts[0]
            let socket = try await PusherSocket.connect(port: port)
            let http = try await RawTCPConnection.connect(port: port)
            await http.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            try await Task.sleep(for: .seconds(1.5))
            #expect(http.received.hasPrefix("HTTP/1.1 200 "))
            #expect(!http.isClosed, "an HTTP connection between requests is the idle timeout's (30 s), not the head's")
            try socket.subscribe("news")
            _ = try await socket.next("pusher_internal:subscription_succeeded", channel: "news")
            http.close()
        }
    }

    @Test("a trigger request whose body trickles is answered 408 and closed; a body sent at once is answered normally")
    func bodyDeadline() async throws {
        // A 2 s base: on a loaded machine the router may take longer than the suite's 600 ms to read a body sent at
        // once (it reads as the handler asks, so the byte allowance does not grow meanwhile).
        var timings = Self.timings
        timings.requestBodyTimeout = .seconds(2)
        try await Testbed.run(timings: timings) { bed in
            let port = bed.relayPorts[0]
            let slow = try await RawTCPConnection.connect(port: port)
            await slow.send(Self.triggerHead(length: 400) + "{")
            let closed = try await slow.waitForClose(limit: .seconds(8), trickle: " ", interval: .milliseconds(200))
            #expect(closed != nil, "closed within 8 s (deadline 2 s + 1 s per 500 bytes)")
            #expect(slow.received.hasPrefix("HTTP/1.1 408 "))
            #expect(try await Testbed.metric(port: port, "usher_relay_connections_failed_total", labelsContaining: "body_timeout") == 1)
            // The same size at once: an ordinary answer (here 401, unsigned), not a timeout.
            let quick = try await RawTCPConnection.connect(port: port)
            let body = "{" + String(repeating: " ", count: 398) + "}"
            await quick.send(Self.triggerHead(length: 400) + body)
            #expect(try await quick.waitForAnswer().hasPrefix("HTTP/1.1 401 "))
            quick.close()
            // A body far larger than the handshake guard's 64 KiB of early bytes is the HTTP pipeline's to refuse.
            let large = try await RawTCPConnection.connect(port: port)
            await large.send(Self.triggerHead(length: 200_000)
                + String(repeating: " ", count: 200_000))
            let answer = try await large.waitForAnswer()
            #expect(answer.hasPrefix("HTTP/1.1 413 "), "\(answer.prefix(40))")
            large.close()
        }
    }

    @Test("an unmasked client frame fails the connection with 1002; a text frame that is not UTF-8 with 1007")
    func rfc6455Closes() async throws {
        try await Testbed.run(timings: Self.timings) { bed in
            let port = bed.relayPorts[0]
            let unmasked = try await RawWebSocket.connect(port: port)
            unmasked.sendFrame(Array(#"{"event":"pusher:ping","data":{}}"#.utf8), masked: false)
            #expect(try await unmasked.waitForCloseFrame() == 1002)
            #expect(try await unmasked.waitForDisconnect(timeout: .seconds(5)))
            #expect(!unmasked.received("pusher:pong"), "the unmasked frame was not acted on")

            let invalid = try await RawWebSocket.connect(port: port)
            invalid.sendFrame(Array(#"{"event":"pusher:ping","data":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8))
            #expect(try await invalid.waitForCloseFrame() == 1007)

            let fine = try await RawWebSocket.connect(port: port)
            fine.send("pusher:ping", data: .object([:]))
            try await Task.sleep(for: .milliseconds(300))
            #expect(fine.received("pusher:pong"))
            #expect(try await Testbed.metric(port: port, "usher_relay_connections_failed_total", labelsContaining: "unmasked_frame") == 1)
            for socket in [unmasked, invalid, fine] { socket.abort() }
        }
    }

    @Test("a message over the size limit closes the connection with 1009 (message too big)")
    func oversizedMessage() async throws {
        try await Testbed.run(timings: Self.timings) { bed in
            let socket = try await RawWebSocket.connect(port: bed.relayPorts[0])
            // The relay's limit is 10 KB of message (frames up to twice that are read, then refused).
            socket.sendFrame(Array(repeating: UInt8(ascii: "a"), count: 64 * 1024))
            #expect(try await socket.waitForCloseFrame() == 1009)
            socket.abort()
        }
    }
}

/// Slow readers lose their own connection, never anyone else's.
@Suite struct RelayOutboxTests {
    @Test("an outbox is bounded in bytes as well as frames: the slow reader is closed with 4100, taking frames frees room")
    func byteLimit() throws {
        let connection = RelayConnection(socketID: try SocketID(validating: "1.1"), app: try TestApp.app(), outboxLimit: 100, outboxByteLimit: 1000)
        let frame = String(repeating: "x", count: 300)
        for _ in 0..<3 { connection.send(frame) }
        #expect(connection.queuedByteCount == 900 && !connection.isClosed)
        connection.took(frame)
        connection.send(frame)  // 900 again: room was freed
        #expect(!connection.isClosed)
        connection.send(frame)  // 1,200 > 1,000
        #expect(connection.closeFrame?.code == 4100 && connection.overflowed)
        #expect(connection.queuedByteCount == 900, "the refused frame is not counted")
    }

    @Test("one member flooding a presence channel with client events evicts none of the 20 others")
    func floodEvictsNobody() async throws {
        try await Testbed.run { bed in
            let port = bed.relayPorts[0]
            var members: [PusherSocket] = []
            for n in 0..<21 {
                let socket = try await PusherSocket.connect(port: port)
                let data = #"{"user_id":"u\#(n)"}"#
                try socket.subscribe("presence-room", channelData: data)
                _ = try await socket.next("pusher_internal:subscription_succeeded", channel: "presence-room")
                members.append(socket)
            }
            let flooder = members.removeFirst()
            for n in 0..<5000 { flooder.send("client-typing", data: .object(["n": .integer(Int64(n))]), channel: "presence-room") }
            // The sender is held to 10 events a second (Pusher's limit) and told so; the others get what it may send.
            #expect(try await flooder.next("pusher:error")["data"]?["code"] == .integer(4301))
            _ = try await members[19].next("client-typing", channel: "presence-room")
            try await Task.sleep(for: .seconds(1))
            for member in members {
                member.send("pusher:ping", data: .object([:]))
                _ = try await member.next("pusher:pong")
            }
            #expect(try await Testbed.metric(port: port, "usher_relay_slow_client_closes_total") == 0)
            for socket in members + [flooder] { socket.abort() }
        }
    }
}

/// The relay follows its key directory as `usher serve` does.
@Suite struct RelayAppReloadTests {
    @Test("a rotated secret signs triggers on the relay within seconds, without a restart; a broken file changes nothing")
    func rotatedSecret() async throws {
        var timings = Testbed.Timings()
        timings.relayReloadsApps = true
        try await Testbed.run(timings: timings) { bed in
            let store = AppCredentialStore(directory: KeyDirectory(path: bed.keys))
            let rotated = try store.update(id: TestApp.id) { app throws(ServerError) in
                do { return try app.rotatingSecret("rotated-secret-0123456789abcdef0123456789", overlap: .seconds(3600), now: Date()) } catch {
                    throw ServerError.invalidConfiguration("\(error)")
                }
            }
            let newSecret = try #require(rotated.secrets.first { $0.secret != TestApp.secret }?.secret)
            let body = #"{"name":"tick","channel":"news","data":"1"}"#
            var status = 0
            for _ in 0..<50 where status != 200 {
                status = try await bed.trigger(body: body, secret: newSecret).0
                if status != 200 { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(status == 200, "the relay took the new secret within 5 s")
            #expect(try await bed.trigger(body: body).0 == 200, "the old secret still works during the overlap")
            // A file that is not an app record: logged, and the apps in use stay.
            try "not json".write(toFile: bed.keys + "/apps/zz-broken.json", atomically: true, encoding: .utf8)
            try await Task.sleep(for: .seconds(1.5))
            #expect(try await bed.trigger(body: body, secret: newSecret).0 == 200)
            let socket = try await PusherSocket.connect(port: bed.relayPorts[0])
            socket.abort()
        }
    }
}

/// New connections per second per client address.
@Suite struct RelayConnectionRateTests {
    @Test("the allowance per address: bursts up to the rate, refilled continuously; other addresses are not charged")
    func tokenBucket() throws {
        let limiter = ConnectionRateLimiter(perSecond: 3)
        let ann = try SocketAddress(ipAddress: "10.0.0.1", port: 1111)
        let bo = try SocketAddress(ipAddress: "2001:db8::2", port: 2222)
        let start = ContinuousClock.now
        #expect((0..<4).map { _ in limiter.allow(ann, now: start) } == [true, true, true, false])
        #expect(limiter.allow(try SocketAddress(ipAddress: "10.0.0.1", port: 9999), now: start) == false, "the port does not matter")
        #expect(limiter.allow(bo, now: start))
        #expect(limiter.allow(ann, now: start + .milliseconds(400)))  // 1.2 refilled
        #expect(limiter.allow(ann, now: start + .milliseconds(400)) == false)
        #expect(limiter.allow(nil, now: start), "no IP address: not limited")
    }

    @Test("over the rate a new connection is answered 429 and closed; the ones admitted work, and so do later ones")
    func overTheRate() async throws {
        var timings = Testbed.Timings()
        timings.connectionRate = 5
        try await Testbed.run(timings: timings) { bed in
            let port = bed.relayPorts[0]
            // Thirty connections back to back: a burst of 5 plus 5 a second refilled over the time they took.
            let start = ContinuousClock.now
            var connections: [RawTCPConnection] = []
            for _ in 0..<30 { connections.append(try await RawTCPConnection.connect(port: port)) }
            let elapsed = ContinuousClock.now - start
            try await Task.sleep(for: .milliseconds(300))
            let refused = connections.filter { $0.received.hasPrefix("HTTP/1.1 429 ") }
            let admitted = connections.filter { !$0.received.hasPrefix("HTTP/1.1 429 ") }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            #expect(!refused.isEmpty)
            #expect(Double(admitted.count) <= 5 + 5 * seconds + 1, "\(admitted.count) admitted in \(elapsed)")
            for connection in refused { #expect(try await connection.waitForClose(limit: .seconds(2)) != nil) }
            for connection in admitted { connection.close() }
            try await Task.sleep(for: .seconds(1.2))
            // (Scraping is a new connection too: after the refill.)
            #expect(try await Testbed.metric(port: port, "usher_relay_connections_failed_total", labelsContaining: "rate_limited") >= 1)
            let socket = try await PusherSocket.connect(port: port)
            try socket.subscribe("news")
            _ = try await socket.next("pusher_internal:subscription_succeeded", channel: "news")
            socket.abort()
        }
    }
}

/// An app's connection quota (`max_connections`), counted across relay nodes.
@Suite struct RelayConnectionQuotaTests {
    @Test("over the app's quota, counting every node, a connection gets pusher:error and close 4004; room frees on a close")
    func quota() async throws {
        var timings = Testbed.Timings()
        timings.maxConnections = 3
        try await Testbed.run(relays: 2, timings: timings) { bed in
            var open = [try await PusherSocket.connect(port: bed.relayPorts[0]), try await PusherSocket.connect(port: bed.relayPorts[0])]
            open.append(try await PusherSocket.connect(port: bed.relayPorts[1]))
            // Node 0 learns of node 1's connection (and the quota) with its next heartbeats (every 0.5 s here).
            var code: Int?
            for _ in 0..<20 where code == nil {
                try await Task.sleep(for: .milliseconds(250))
                let extra = try await RawWebSocket.connectAnswer(port: bed.relayPorts[0])
                code = extra.closeCode
                if code == nil { extra.socket?.abort() }
            }
            #expect(code == 4004, "the fourth connection, on the node holding two of three")
            #expect(try await Testbed.metric(port: bed.relayPorts[0], "usher_relay_connections_failed_total", labelsContaining: "over_quota") >= 1)
            open.removeLast().abort()
            var admitted = false
            for _ in 0..<20 where !admitted {
                try await Task.sleep(for: .milliseconds(250))
                let again = try await RawWebSocket.connectAnswer(port: bed.relayPorts[0])
                admitted = again.closeCode == nil && again.socket != nil
                again.socket?.abort()
            }
            #expect(admitted, "a closed connection on node 1 frees room on node 0 after the heartbeats")
            for socket in open { socket.abort() }
        }
    }
}
