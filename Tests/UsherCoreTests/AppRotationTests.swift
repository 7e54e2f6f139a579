import Foundation
import Testing
import UsherCore
import UsherCrypto

/// `App.rotatingSecret`: the new secret signs at once, older ones verify until `now + overlap` and not after.
@Suite struct AppRotationTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)
    static let hour = Duration.seconds(3600)

    static func app(name: String? = "chat") throws -> App {
        try App(
            id: "3", key: Fixtures.appKey, name: name,
            secrets: [AppSecret(id: "s1", secret: Fixtures.secretText, created: t0 - 86_400)],
            encryptionMasterKey: Fixtures.masterKey)
    }

    /// The auth string `app` signs for `private-a` at `now`.
    static func auth(by app: App, at now: Date) throws -> String {
        try app.authorizer(at: now).authorizePrivate(socketID: Fixtures.socket(), channel: Fixtures.channel("private-a")).auth
    }

    static func accepts(_ app: App, _ auth: String, at now: Date) throws -> Bool {
        app.verifier(at: now).verify(auth: auth, socketID: try Fixtures.socket(), channel: try Fixtures.channel("private-a"), channelData: nil)
    }

    @Test("the new secret signs from now on; id, key, name and master key are kept")
    func newSecretSigns() throws {
        let old = try Self.app()
        let rotated = try old.rotatingSecret(overlap: Self.hour, now: Self.t0)
        #expect(rotated.id == old.id && rotated.key == old.key && rotated.name == "chat")
        #expect(rotated.encryptionMasterKey == Fixtures.masterKey)
        #expect(rotated.secrets.count == 2)
        let new = try #require(rotated.signingSecret(at: Self.t0))
        #expect(new.id != "s1" && new.created == Self.t0 && new.notAfter == nil)
        #expect(new.secret.count == 64 && Hex.decode(new.secret)?.count == 32)
        let signed = try Self.auth(by: rotated, at: Self.t0)
        #expect(signed != (try Self.auth(by: old, at: Self.t0)))
        #expect(ChannelAuthVerifier(appKey: Fixtures.appKey, secrets: [new.hmacKey])
            .verify(auth: signed, socketID: try Fixtures.socket(), channel: try Fixtures.channel("private-a"), channelData: nil))
    }

    @Test("the old secret verifies until now + overlap and not from then on")
    func overlapBoundary() throws {
        let old = try Self.app()
        let oldAuth = try Self.auth(by: old, at: Self.t0)
        let rotated = try old.rotatingSecret(overlap: Self.hour, now: Self.t0)
        let end = Self.t0 + 3600
        #expect(rotated.secrets.first { $0.id == "s1" }?.notAfter == end)
        #expect(try Self.accepts(rotated, oldAuth, at: Self.t0))
        #expect(try Self.accepts(rotated, oldAuth, at: end - 0.001))
        #expect(try !Self.accepts(rotated, oldAuth, at: end))
        #expect(try !Self.accepts(rotated, oldAuth, at: end + 86_400))
        // The new secret's auth strings keep verifying after the overlap.
        #expect(try Self.accepts(rotated, try Self.auth(by: rotated, at: end), at: end + 86_400))
        #expect(rotated.verifyingSecrets(at: end).count == 1)
    }

    @Test("a given secret is used as is; a secret under 20 characters is refused", arguments: [
        (String(repeating: "n", count: 20), true), (String(repeating: "n", count: 19), false), ("", false),
    ])
    func givenSecret(secret: String, accepted: Bool) throws {
        let old = try Self.app()
        if accepted {
            let rotated = try old.rotatingSecret(secret, overlap: Self.hour, now: Self.t0)
            #expect(rotated.signingSecret(at: Self.t0)?.secret == secret)
        } else {
            #expect(throws: CoreError.weakAppSecret) { try old.rotatingSecret(secret, overlap: Self.hour, now: Self.t0) }
        }
    }

    @Test("secrets past their not_after are dropped at the next rotation")
    func expiredDropped() throws {
        let once = try Self.app().rotatingSecret(overlap: Self.hour, now: Self.t0)
        let twice = try once.rotatingSecret(overlap: Self.hour, now: Self.t0 + 7200)
        #expect(!twice.secrets.contains { $0.id == "s1" })
        #expect(twice.secrets.count == 2)
        let middle = try #require(once.signingSecret(at: Self.t0))
        #expect(twice.secrets.first { $0.id == middle.id }?.notAfter == Self.t0 + 7200 + 3600)
        #expect(Set(twice.secrets.map(\.id)).count == twice.secrets.count)
    }

    @Test("an older end date is never extended by a later rotation")
    func earlierEndKept() throws {
        let once = try Self.app().rotatingSecret(overlap: .seconds(600), now: Self.t0)
        let twice = try once.rotatingSecret(overlap: Self.hour, now: Self.t0 + 60)
        #expect(twice.secrets.map(\.notAfter) == [Self.t0 + 600, Self.t0 + 60 + 3600, nil])
        #expect(twice.verifyingSecrets(at: Self.t0 + 600).count == 2)
    }

    @Test("a zero overlap ends the old secret at once")
    func zeroOverlap() throws {
        let old = try Self.app()
        let oldAuth = try Self.auth(by: old, at: Self.t0)
        let rotated = try old.rotatingSecret(overlap: .zero, now: Self.t0)
        #expect(try !Self.accepts(rotated, oldAuth, at: Self.t0))
        #expect(rotated.verifyingSecrets(at: Self.t0).count == 1)
    }

    @Test("repeated rotations keep unique ids and exactly one open secret")
    func manyRotations() throws {
        var app = try Self.app()
        for step in 0..<20 { app = try app.rotatingSecret(overlap: Self.hour, now: Self.t0 + Double(step)) }
        #expect(Set(app.secrets.map(\.id)).count == app.secrets.count)
        #expect(app.secrets.filter { $0.notAfter == nil }.count == 1)
        #expect(app.secrets.count == 21)
    }
}
