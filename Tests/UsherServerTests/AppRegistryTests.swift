import Foundation
import Testing
import UsherCore
@testable import UsherServer

/// Joining the configuration with the key directory at start.
@Suite struct AppRegistryTests {
    @Test("a configured app without credentials fails naming the app id")
    func missingCredentials() throws {
        var configuration = UsherConfiguration()
        configuration.apps = [try Fixtures.settings(), try Fixtures.settings(id: "chat-9")]
        let error = #expect(throws: ServerError.invalidConfiguration) {
            try AppRegistry(apps: [try Fixtures.pusherApp()], configuration: configuration, now: Date())
        }
        #expect(error?.message.contains("\"chat-9\"") == true, "\(error?.message ?? "")")
    }

    @Test("two apps sharing a key are refused")
    func sharedKey() throws {
        let twin = try App(id: "4", key: Fixtures.appKey, secrets: [AppSecret(id: "s", secret: "x", created: Date())])
        #expect(throws: ServerError.keyDirectory) {
            try AppRegistry(apps: [try Fixtures.pusherApp(), twin], configuration: UsherConfiguration(), now: Date())
        }
    }

    @Test("an app whose secrets have all expired is refused at load")
    func expiredSecrets() throws {
        let old = try App(
            id: "4", key: "abcdefgh12",
            secrets: [AppSecret(id: "s", secret: "x", created: Date(timeIntervalSince1970: 0), notAfter: Date(timeIntervalSince1970: 1))]
        )
        let error = #expect(throws: ServerError.keyDirectory) {
            try AppRegistry(apps: [old], configuration: UsherConfiguration(), now: Date())
        }
        #expect(error?.message.contains("app 4") == true)
    }

    @Test("select picks the only app, or by key or id, and refuses ambiguity")
    func select() throws {
        let pusher = try Fixtures.pusherApp()
        let single = try AppRegistry(apps: [pusher], configuration: UsherConfiguration(), now: Date())
        #expect(try single.select(key: nil, id: nil).app.id == "3")
        #expect(throws: ServerError.unknownApp) { try single.select(key: "unknownkey", id: nil) }
        #expect(throws: ServerError.unknownApp) { try single.select(key: nil, id: "99") }

        let other = try App.generate(id: "4", now: Date())
        let double = try AppRegistry(apps: [pusher, other], configuration: UsherConfiguration(), now: Date())
        #expect(double.count == 2)
        #expect(try double.select(key: other.key, id: nil).app.id == "4")
        #expect(try double.select(key: nil, id: "3").app.key == Fixtures.appKey)
        #expect(throws: ServerError.malformedRequest) { try double.select(key: nil, id: nil) }
        #expect(throws: ServerError.unknownApp) { try double.select(key: other.key, id: "3") }

        let empty = try AppRegistry(apps: [], configuration: UsherConfiguration(), now: Date())
        #expect(throws: ServerError.unknownApp) { try empty.select(key: nil, id: nil) }
    }

    @Test("CORS origins are the union of every app's")
    func corsUnion() throws {
        var configuration = UsherConfiguration()
        configuration.apps = [
            try Fixtures.settings(origins: ["https://a.example"]), try Fixtures.settings(id: "4", origins: ["https://b.example"]),
        ]
        let registry = try AppRegistry(
            apps: [try Fixtures.pusherApp(), try App.generate(id: "4", now: Date())], configuration: configuration, now: Date()
        )
        #expect(registry.corsOrigins == ["https://a.example", "https://b.example"])
    }
}
