import Foundation
import Testing
import UsherCore
import UsherCrypto

@Suite struct AppTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    private func app(_ secrets: [AppSecret]) throws -> App {
        try App(id: "3", key: Fixtures.appKey, secrets: secrets, encryptionMasterKey: Fixtures.masterKey)
    }

    @Test("generates every missing value in the documented shape")
    func generate() throws {
        let app = try App.generate(now: Self.t0)
        #expect(app.id.utf8.count == 7 && app.id.allSatisfy(\.isASCII) && app.id.allSatisfy(\.isNumber) && app.id.first != "0")
        #expect(app.key.count == 20 && Hex.decode(app.key) != nil && app.key == app.key.lowercased())
        #expect(app.secrets.count == 1)
        let secret = try #require(app.secrets.first)
        #expect(
            secret.secret.count == 64 && Hex.decode(secret.secret)?.count == 32 && secret.secret == secret.secret.lowercased())
        #expect(secret.created == Self.t0 && secret.notAfter == nil)
        #expect(app.encryptionMasterKey?.count == 32)
        #expect(app.name == nil)
        let other = try App.generate(now: Self.t0)
        #expect(
            other.key != app.key && other.secrets[0].secret != secret.secret
                && other.encryptionMasterKey != app.encryptionMasterKey)
    }

    @Test("keeps the given values")
    func generateGiven() throws {
        let secret = String(repeating: "s", count: 32)
        let app = try App.generate(id: "my_app-1", key: "key_1234", secret: secret, name: "Chat", now: Self.t0)
        #expect(app.id == "my_app-1" && app.key == "key_1234" && app.name == "Chat" && app.secrets.map(\.secret) == [secret])
    }

    @Test(
        "refuses invalid given values",
        arguments: [
            ("", nil, nil, CoreError.invalidAppID), (String(repeating: "a", count: 65), nil, nil, .invalidAppID),
            ("a b", nil, nil, .invalidAppID), ("ä", nil, nil, .invalidAppID), ("a/b", nil, nil, .invalidAppID),
            (nil, "short12", nil, .invalidAppKey), (nil, String(repeating: "k", count: 65), nil, .invalidAppKey),
            (nil, "key:12345", nil, .invalidAppKey), (nil, nil, String(repeating: "s", count: 19), .weakAppSecret),
        ] as [(String?, String?, String?, CoreError)]
    )
    func generateRejects(id: String?, key: String?, secret: String?, error: CoreError) {
        #expect(throws: error) { try App.generate(id: id, key: key, secret: secret, now: Self.t0) }
    }

    @Test("accepts identifier length edges", arguments: [(1, 8), (64, 64)])
    func identifierEdges(idLength: Int, keyLength: Int) throws {
        let app = try App.generate(
            id: String(repeating: "i", count: idLength), key: String(repeating: "k", count: keyLength), now: Self.t0)
        #expect(app.id.count == idLength && app.key.count == keyLength)
    }

    @Test("refuses empty secret lists, empty secrets and repeated secret ids")
    func invalidSecrets() {
        #expect(throws: CoreError.invalidAppSecrets) { try app([]) }
        #expect(throws: CoreError.invalidAppSecrets) { try app([AppSecret(id: "a", secret: "", created: Self.t0)]) }
        #expect(throws: CoreError.invalidAppSecrets) {
            try app([AppSecret(id: "a", secret: "x", created: Self.t0), AppSecret(id: "a", secret: "y", created: Self.t0)])
        }
        #expect(throws: CoreError.invalidEncryptionMasterKey) {
            try App(
                id: "3", key: Fixtures.appKey, secrets: [AppSecret(id: "a", secret: "x", created: Self.t0)],
                encryptionMasterKey: [1])
        }
    }

    @Test("signs with the newest open secret and verifies with every unexpired one")
    func rotation() throws {
        let old = AppSecret(id: "old", secret: Fixtures.secretText, created: Self.t0, notAfter: Self.t0 + 3600)
        let new = AppSecret(id: "new", secret: String(repeating: "n", count: 32), created: Self.t0 + 60)
        let app = try app([old, new])
        #expect(app.signingSecret(at: Self.t0 + 120)?.id == "new")
        #expect(app.verifyingSecrets(at: Self.t0 + 120).map(\.id) == ["old", "new"])
        #expect(app.verifyingSecrets(at: Self.t0 + 3600).map(\.id) == ["new"])

        let socket = try Fixtures.socket()
        let channel = try Fixtures.channel("private-foobar")
        let v1 = "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
        #expect(app.verifier(at: Self.t0 + 3599).verify(auth: v1, socketID: socket, channel: channel, channelData: nil))
        #expect(!app.verifier(at: Self.t0 + 3600).verify(auth: v1, socketID: socket, channel: channel, channelData: nil))
        let fresh = try app.authorizer(at: Self.t0 + 120).authorize(socketID: socket, channel: channel)
        #expect(fresh.auth != v1)
        #expect(app.verifier(at: Self.t0 + 7200).verify(auth: fresh.auth, socketID: socket, channel: channel, channelData: nil))
    }

    @Test("with only retiring secrets, signs with the newest unexpired one; with none, refuses")
    func retiringOnly() throws {
        let a = AppSecret(id: "a", secret: "a-secret", created: Self.t0, notAfter: Self.t0 + 100)
        let b = AppSecret(id: "b", secret: "b-secret", created: Self.t0 + 10, notAfter: Self.t0 + 50)
        let app = try app([a, b])
        #expect(app.signingSecret(at: Self.t0 + 20)?.id == "b")
        #expect(app.signingSecret(at: Self.t0 + 50)?.id == "a")
        #expect(app.signingSecret(at: Self.t0 + 100) == nil)
        #expect(throws: CoreError.noUsableSecret) { try app.authorizer(at: Self.t0 + 100) }
    }

    @Test("the app's authorizer answers V8 with its master key")
    func encrypted() throws {
        let app = try app([AppSecret(id: "s", secret: Fixtures.secretText, created: Self.t0)])
        let answer = try app.authorizer(at: Self.t0).authorize(
            socketID: Fixtures.socket(), channel: Fixtures.channel("private-encrypted-foobar"))
        #expect(answer.sharedSecret == "Uedy6frF2/3cz/oMziDQ0pGdahMvE50/N0xZ8eKYEIg=")
    }

    @Test("descriptions never show secrets or the master key")
    func redaction() throws {
        let app = try app([AppSecret(id: "s", secret: Fixtures.secretText, created: Self.t0)])
        for text in [String(describing: app), String(reflecting: app), "\(app.secrets)", String(reflecting: app.secrets[0])] {
            #expect(!text.contains(Fixtures.secretText), "\(text)")
            #expect(!text.contains(Base64.encode(Fixtures.masterKey)))
        }
    }
}
