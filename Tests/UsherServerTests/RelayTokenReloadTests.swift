import Foundation
import Hummingbird
import Logging
import Testing
@testable import UsherServer

@Suite struct RelayTokenReloadTests {
    @Test("a rewritten keys/relay.token replaces the served token on reload; an invalid one keeps the old")
    func reloadsTheRelayToken() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("usher-relay-token-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let keys = KeyDirectory(path: path)
        let token = try RelayToken.loadOrCreate(in: keys)
        let first = try #require(String(data: try keys.readPrivate("relay.token"), encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Self.matches(token, first))

        var configuration = UsherConfiguration()
        configuration.keysDirectory = path
        let reloader = KeyReloader(
            configuration: configuration, registry: AppRegistryBox(try AppRegistry(apps: [], configuration: configuration, now: Date())),
            signingKeys: SigningKeysBox(.empty), logger: Logger(label: "test"), relayToken: token
        )
        let second = String(repeating: "b", count: 40)
        try keys.withLock { () throws(ServerError) in try keys.writeAtomically(Data(second.utf8), to: "relay.token") }
        #expect(reloader.reload())
        #expect(Self.matches(token, second))
        #expect(!Self.matches(token, first))

        try keys.withLock { () throws(ServerError) in try keys.writeAtomically(Data("short".utf8), to: "relay.token") }
        #expect(!reloader.reload())
        #expect(Self.matches(token, second), "an invalid token file keeps the previous token")
    }

    private static func matches(_ token: RelayToken, _ text: String) -> Bool {
        Array(text.utf8).withUnsafeBytes { token.matches($0) }
    }

    @Test("the Bearer scheme is matched without case, the token byte for byte")
    func bearerHeader() {
        let secret = String(repeating: "c", count: 40)
        let token = RelayToken(bytes: Array(secret.utf8))
        let authorizes = { (header: String?) in RelayAuthMiddleware<BasicRequestContext>.authorizes(header, token: token) }
        for scheme in ["Bearer ", "bearer ", "BEARER ", "bEaReR "] {
            #expect(authorizes(scheme + secret), "\(scheme)")
        }
        for header in [
            nil, "", "Bearer ", "Bearer", "Bearer  " + secret, "Bearer\t" + secret, "Basic " + secret, "Bearer\u{0}" + secret,
            "Bearer " + secret.uppercased(), "Bearer " + secret.dropLast(), "Bearer " + secret + "c", "Bearer " + secret + " ",
            "Bearer\u{301} " + secret, "\u{212A}earer " + secret,
        ] {
            #expect(!authorizes(header), "\(String(describing: header))")
        }
    }
}
