import Foundation
import HummingbirdTesting
import Synchronization
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// What the request loops of a rotation test share: issued tokens, failures, and a stop flag.
final class FlowLog: Sendable {
    private let state = Mutex<(tokens: [String], failures: [String], done: Bool)>(([], [], false))

    var tokens: [String] { state.withLock { $0.tokens } }
    var failures: [String] { state.withLock { $0.failures } }
    var done: Bool { state.withLock { $0.done } }
    var count: Int { state.withLock { $0.tokens.count } }

    func issued(_ token: String) { state.withLock { $0.tokens.append(token) } }
    func failed(_ what: String) { state.withLock { $0.failures.append(what) } }
    func stop() { state.withLock { $0.done = true } }

    /// Waits (polling briefly) until `count` tokens have been issued in total.
    func wait(for count: Int) async throws {
        while self.count < count { try await Task.sleep(for: .milliseconds(2)) }
    }
}

/// "Rotation while requests keep flowing": the key ring rotates on disk and reloads while clients issue, verify,
/// fetch the JWKS and subscribe through the relay; nothing fails, and every token verifies until its key's
/// `retire_at` and none after.
@Suite struct RotationFlowTests {
    static let app = try! Fixtures.pusherApp()
    static let channel = try! ChannelName(validating: "private-foobar")

    /// One client loop: issue, verify, check the kid is published, subscribe through the relay; until told to stop.
    static func requests(_ client: any TestClientProtocol, worker: Int, log: FlowLog) async throws {
        var round = 0
        while !log.done || round < 3 {
            round += 1
            let socket = "\(worker).\(round)"
            let issued = try await client.issueToken(["channel": channel.name, "socket_id": socket, "ttl": "3600"])
            guard issued.status == .ok, let token = issued.json?["token"]?.stringValue else { log.failed("issue \(issued.status)"); continue }
            log.issued(token)
            let verified = try await client.verifyToken(["token": token, "channel": channel.name, "socket_id": socket])
            if verified.status != .ok { log.failed("verify \(verified.status) \(verified.text)") }
            let jwks = try await client.execute(uri: "/.well-known/jwks.json", method: .get)
            let kid = try DecodedToken(token).header["kid"]?.stringValue ?? "?"
            if jwks.status != .ok || !jwks.text.contains(kid) { log.failed("jwks \(jwks.status) lacks \(kid)") }
            let subscribed = try await RelayClient(client: client).subscribe(TokenRelay.subscribe(socket: socket, channel: channel.name, token: token))
            if subscribed.status != .ok { log.failed("relay \(subscribed.status) \(subscribed.text)") }
        }
    }

    /// Runs 8 request loops while `rotations` rotate the ring (each after some more tokens); returns every token.
    static func flow(_ server: TokenServer, _ client: any TestClientProtocol, rotations: [JWTAlgorithm], overlap: Duration) async throws -> [String] {
        let log = FlowLog()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 1...8 { group.addTask { try await requests(client, worker: worker, log: log) } }
            group.addTask {
                // Each key signs at least a dozen tokens: more than the loops have in flight during a swap.
                try await log.wait(for: 12)
                for alg in rotations {
                    try server.rotate(alg, overlap: overlap)
                    try await log.wait(for: log.count + 12)
                }
                log.stop()
            }
            try await group.waitForAll()
        }
        #expect(log.failures.isEmpty, "\(log.failures.count) failed requests: \(log.failures.prefix(5))")
        let kids = Set(try log.tokens.map { try DecodedToken($0).header["kid"]?.stringValue })
        #expect(kids.count == rotations.count + 1, "tokens were signed by \(kids.count) keys")
        return log.tokens
    }

    static func verifies(_ token: String, _ keys: SigningKeys, _ server: TokenServer, at now: Date) -> Bool {
        let bound = (try? DecodedToken(token))?.claims["socket_id"]?.stringValue
        let socket = bound.flatMap { try? SocketID(validating: $0) }
        return (try? server.tokens.verify(token, with: keys, app: app, channel: channel, socketID: socket, now: now)) != nil
    }

    @Test("keys rotate 5 times under load: zero failures; tokens verify until their key's retire_at and not after")
    func rotateUnderLoad() async throws {
        let server = try TokenServer()
        // The overlap is shorter than the tokens' hour, so it is the key's retirement, not expiry, that ends them.
        let overlap: Int64 = 600
        try await server.run { client in
            let tokens = try await Self.flow(server, client, rotations: [.rs256, .edDSA, .es256, .rs256, .edDSA], overlap: .seconds(overlap))
            let served = server.current
            for token in tokens {
                let decoded = try DecodedToken(token)
                let kid = try #require(decoded.header["kid"]?.stringValue)
                guard case .integer(let iat)? = decoded.claims["iat"], case .integer(let exp)? = decoded.claims["exp"] else { throw TokenTestError("claims") }
                let record = try #require(served.ring.records.first { $0.kid == kid })
                let now = Self.verifies(token, served, server, at: Date())
                #expect(now, "\(kid) token no longer verifies now")
                guard let retireAt = record.retireAt else {
                    // The active key: the token lives out its own lifetime.
                    let last = Self.verifies(token, served, server, at: Date(timeIntervalSince1970: Double(exp) - 1))
                    #expect(last, "active \(kid) token refused before exp")
                    continue
                }
                #expect(retireAt >= Date(timeIntervalSince1970: Double(iat + overlap)), "key retired less than the overlap after issue")
                // As served by the running process (loaded before retire_at) and as loaded afresh at that moment.
                for (name, keys) in [("served", served), ("reloaded", try server.signing.load(now: retireAt - 1))] {
                    let before = Self.verifies(token, keys, server, at: retireAt - 1)
                    #expect(before, "\(name): \(kid) token refused before retire_at")
                }
                for (name, keys) in [("served", served), ("reloaded", try server.signing.load(now: retireAt))] {
                    let at = Self.verifies(token, keys, server, at: retireAt), after = Self.verifies(token, keys, server, at: retireAt + 1)
                    #expect(!at && !after, "\(name): \(kid) token still verifies at/after retire_at")
                }
            }
        }
    }

    @Test("with an overlap of the longest TTL, tokens signed before a rotation verify through their whole lifetime")
    func overlapCoversTTL() async throws {
        let server = try TokenServer()
        let maxTTL = Int64(server.configuration.tokens.maxTTLSeconds)
        try await server.run { client in
            let tokens = try await Self.flow(server, client, rotations: [.es256, .rs256, .edDSA], overlap: .seconds(maxTTL))
            for token in tokens {
                let decoded = try DecodedToken(token)
                guard case .integer(let exp)? = decoded.claims["exp"] else { throw TokenTestError("exp") }
                let kid = decoded.header["kid"]?.stringValue
                let retireAt = server.current.ring.records.first { $0.kid == kid }?.retireAt
                // A token the old key signed after the rotation began (while the new key was generated and loaded) may
                // outlive the overlap by that moment; every token signed before it ends at its own exp.
                let end = min(Date(timeIntervalSince1970: Double(exp)), retireAt ?? .distantFuture)
                let last = end - 1
                let served = Self.verifies(token, server.current, server, at: last)
                let reloaded = Self.verifies(token, try server.signing.load(now: last), server, at: last)
                #expect(served && reloaded, "token refused before its exp (served \(served), reloaded \(reloaded))")
            }
        }
    }

    @Test("a rotation with an invalid ring on disk mid-flow keeps serving: no request fails")
    func corruptMidFlow() async throws {
        let server = try TokenServer()
        try await server.run { client in
            let log = FlowLog()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 1...4 { group.addTask { try await Self.requests(client, worker: worker, log: log) } }
                group.addTask {
                    try await log.wait(for: 10)
                    let ring = server.keys.path + "/signing/keyring.json"
                    let good = try String(contentsOfFile: ring, encoding: .utf8)
                    try SigningKeyReloadTests.write("[{", to: ring)
                    server.reloader.reload()
                    try await log.wait(for: 20)
                    try SigningKeyReloadTests.write(good, to: ring)
                    try server.rotate(.edDSA)
                    try await log.wait(for: 30)
                    log.stop()
                }
                try await group.waitForAll()
            }
            #expect(log.failures.isEmpty, "\(log.failures.prefix(5))")
        }
    }
}
