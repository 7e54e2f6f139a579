import Foundation
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// App secret rotation while requests keep flowing: auth strings and HTTP API requests signed with the old secret
/// are accepted during the overlap and refused after it; Usher signs with the newest secret at once.
@Suite struct RotationSecretTests {
    static let socket = try! SocketID(validating: "1.1")
    static let channel = try! ChannelName(validating: "private-foobar")

    /// A Pusher HTTP API GET signed with `secret`, as the official server SDKs sign it.
    static func apiGet(_ client: any TestClientProtocol, _ path: String, secret: String) async throws -> TestResponse {
        let params = ["auth_key": Fixtures.appKey, "auth_timestamp": String(Fixtures.now()), "auth_version": "1.0"]
        let signature = HMACKey(secret: Array(secret.utf8)).hexMAC(APIRequestSignature.stringToSign(method: "GET", path: path, params: params))
        let query = params.keys.sorted().map { "\($0)=\(params[$0]!)" }.joined(separator: "&")
        return try await client.execute(uri: "\(path)?\(query)&auth_signature=\(signature)", method: .get)
    }

    /// An auth string for `socket` on `private-foobar` signed with `secret`.
    static func auth(_ secret: String, socket: String) throws -> String {
        try ChannelAuthorizer(appKey: Fixtures.appKey, secret: HMACKey(secret: Array(secret.utf8)))
            .authorizePrivate(socketID: SocketID(validating: socket), channel: channel).auth
    }

    /// One client loop: the old secret's auth string and API request, and a fresh auth string from `/pusher/auth`.
    static func requests(_ client: any TestClientProtocol, worker: Int, log: FlowLog) async throws {
        let relay = RelayClient(client: client)
        var round = 0
        while !log.done || round < 3 {
            round += 1
            let old = "\(worker).\(round * 2)"
            let response = try await relay.subscribe(RelayFixtures.subscribe(socket: old, channel: channel.name, auth: try auth(Fixtures.appSecret, socket: old)))
            if response.status != .ok { log.failed("old-secret auth \(response.status) \(response.text)") }
            let api = try await apiGet(client, "/apps/\(Fixtures.appID)/channels", secret: Fixtures.appSecret)
            if api.status != .ok { log.failed("old-secret API \(api.status) \(api.text)") }
            let fresh = "\(worker).\(round * 2 + 1)"
            let signed = try await client.post(["socket_id": fresh, "channel_name": channel.name], token: try Fixtures.token())
            guard signed.status == .ok, let auth = signed.fields["auth"] else { log.failed("pusher/auth \(signed.status)"); continue }
            let accepted = try await relay.subscribe(RelayFixtures.subscribe(socket: fresh, channel: channel.name, auth: auth))
            if accepted.status != .ok { log.failed("fresh auth \(accepted.status) \(accepted.text)") }
            log.issued(auth)
        }
    }

    @Test("secrets rotate 3 times under load: zero failures, the newest secret signs, the old one verifies until not_after")
    func rotateUnderLoad() async throws {
        let server = try TokenServer()
        try await server.run { client in
            let log = FlowLog()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 1...8 { group.addTask { try await Self.requests(client, worker: worker, log: log) } }
                group.addTask {
                    try await log.wait(for: 10)
                    for _ in 1...3 {
                        try server.credentials.update(id: Fixtures.appID) { (app: App) throws(ServerError) -> App in
                            do { return try app.rotatingSecret(overlap: .seconds(3600), now: Date()) } catch { throw .keyDirectory("\(error)") }
                        }
                        server.reloader.reload()
                        try await log.wait(for: log.count + 10)
                    }
                    log.stop()
                }
                try await group.waitForAll()
            }
            #expect(log.failures.isEmpty, "\(log.failures.count) failed: \(log.failures.prefix(5))")

            let runtime = try server.components.registry.current.select(key: nil, id: Fixtures.appID)
            #expect(runtime.app.secrets.count == 4)
            let newest = try #require(runtime.app.signingSecret(at: Date()))
            let signed = try await client.post(["socket_id": "9.9", "channel_name": Self.channel.name], token: try Fixtures.token())
            #expect(signed.fields["auth"] == (try Self.auth(newest.secret, socket: "9.9")))

            // The original secret's end, checked at its boundary the way the relay API checks it.
            let end = try #require(runtime.app.secrets.first { $0.secret == Fixtures.appSecret }?.notAfter)
            let oldAuth = Array(try Self.auth(Fixtures.appSecret, socket: "1.1").utf8)
            let check = { (now: Date) in
                try oldAuth.withUnsafeBufferPointer { auth in
                    try SubscriptionCheck(app: runtime, now: now).verify(socketID: Self.socket, channel: Self.channel, auth: auth, channelData: nil, userData: nil)
                }
            }
            #expect(throws: Never.self) { try check(end - 1) }
            let refusal = #expect(throws: RelayRefusal.self) { try check(end) }
            #expect(refusal?.code == 4009 && refusal?.status == .forbidden)
        }
    }

    @Test("after the overlap the old secret is refused by the relay API and the HTTP API; the new one is accepted")
    func afterOverlap() async throws {
        let server = try TokenServer()
        // A rotation whose overlap ended a minute ago: the previous secrets are past their not_after now.
        let rotated = try server.credentials.update(id: Fixtures.appID) { (app: App) throws(ServerError) -> App in
            do { return try app.rotatingSecret(overlap: .seconds(60), now: Date() - 120) } catch { throw .keyDirectory("\(error)") }
        }
        server.reloader.reload()
        let newest = try #require(rotated.signingSecret(at: Date()))
        #expect(newest.secret != Fixtures.appSecret)
        try await server.run { client in
            let relay = RelayClient(client: client)
            let old = try await relay.subscribe(RelayFixtures.subscribe(socket: "1.1", channel: Self.channel.name, auth: try Self.auth(Fixtures.appSecret, socket: "1.1")))
            expectRelayRefusal(old, .forbidden, code: 4009)
            let new = try await relay.subscribe(RelayFixtures.subscribe(socket: "1.1", channel: Self.channel.name, auth: try Self.auth(newest.secret, socket: "1.1")))
            #expect(new.status == .ok, "\(new.text)")
            #expect(try await Self.apiGet(client, "/apps/\(Fixtures.appID)/channels", secret: Fixtures.appSecret).status == .unauthorized)
            #expect(try await Self.apiGet(client, "/apps/\(Fixtures.appID)/channels", secret: newest.secret).status == .ok)
            let signed = try await client.post(["socket_id": "2.2", "channel_name": Self.channel.name], token: try Fixtures.token())
            #expect(signed.fields["auth"] == (try Self.auth(newest.secret, socket: "2.2")))
        }
    }

    @Test("a corrupt app file mid-rotation keeps the previous secrets serving")
    func corruptAppFile() async throws {
        let server = try TokenServer()
        try SigningKeyReloadTests.write("{", to: server.keys.path + "/apps/\(Fixtures.appID).json")
        server.reloader.reload()
        try await server.run { client in
            let response = try await RelayClient(client: client).subscribe(
                RelayFixtures.subscribe(socket: "1.1", channel: Self.channel.name, auth: try Self.auth(Fixtures.appSecret, socket: "1.1")))
            #expect(response.status == .ok)
        }
    }
}
