import Foundation
import Testing
import UsherCore
@testable import UsherServer

/// `keys/apps/<id>.json`: private, atomic, exclusive writes and strict reads.
@Suite struct KeyDirectoryTests {
    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
    }

    static func withStore(_ body: (AppCredentialStore, TemporaryDirectory) throws -> Void) throws {
        let keys = TemporaryDirectory()
        defer { keys.remove() }
        try body(AppCredentialStore(directory: KeyDirectory(path: keys.path)), keys)
    }

    @Test("create writes a 0600 file in a 0700 folder that loads back equal")
    func createPrivate() throws {
        try Self.withStore { store, keys in
            let app = try App.generate(id: "42", name: "chat", now: Date(timeIntervalSince1970: 1_700_000_000))
            try store.create(app)
            #expect(Self.mode(keys.path + "/apps/42.json") == 0o600)
            #expect(Self.mode(keys.path + "/apps") == 0o700)
            #expect(Self.mode(keys.path) == 0o700)
            #expect(try store.load(id: "42") == app)
            #expect(try store.loadAll() == [app])
            #expect(try store.load(id: "43") == nil)
        }
    }

    @Test("the Pusher vector app keeps its 20-character secret through the store")
    func pusherSecretRoundTrip() throws {
        try Self.withStore { store, _ in
            try store.create(try Fixtures.pusherApp())
            #expect(try store.load(id: "3")?.secrets.map(\.secret) == [Fixtures.appSecret])
        }
    }

    @Test("App.generate accepts an existing 20-character Pusher secret given to it (usher apps create --secret)")
    func generateAcceptsPusherSecret() throws {
        try Self.withStore { store, _ in
            let app = try App.generate(id: "3", key: Fixtures.appKey, secret: Fixtures.appSecret, now: Date())
            try store.create(app)
            #expect(try store.load(id: "3")?.secrets.first?.secret == Fixtures.appSecret)
        }
    }

    @Test("create refuses a duplicate id and leaves the first file untouched")
    func duplicate() throws {
        try Self.withStore { store, keys in
            let first = try App.generate(id: "7", now: Date())
            try store.create(first)
            let before = try Data(contentsOf: URL(fileURLWithPath: keys.path + "/apps/7.json"))
            let error = #expect(throws: ServerError.appExists) { try store.create(try App.generate(id: "7", now: Date())) }
            #expect(error?.message.contains("7") == true)
            #expect(try Data(contentsOf: URL(fileURLWithPath: keys.path + "/apps/7.json")) == before)
        }
    }

    @Test("loadAll refuses a group- or world-readable app file, naming it and chmod 600", arguments: [0o644, 0o640, 0o606])
    func readableFile(mode: Int) throws {
        try Self.withStore { store, keys in
            try store.create(try App.generate(id: "8", now: Date()))
            let file = keys.path + "/apps/8.json"
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
            let error = #expect(throws: ServerError.keyDirectory) { try store.loadAll() }
            #expect(error?.message.contains(file) == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("chmod 600") == true)
        }
    }

    @Test("loadAll refuses a corrupt or mismatched app file, naming it", arguments: [
        "{ not json", #"{"id":"9","key":"short","secrets":[]}"#, #"{"id":"other","key":"abcdefgh12","secrets":[{"id":"s","secret":"x","created":"2024-01-01T00:00:00Z"}]}"#,
    ])
    func corruptFile(text: String) throws {
        try Self.withStore { store, keys in
            try KeyDirectory(path: keys.path).prepare()
            try keys.write(text, to: "apps/9.json")
            let error = #expect(throws: ServerError.keyDirectory) { try store.loadAll() }
            #expect(error?.message.contains("apps/9.json") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("\"x\"") == false)
        }
    }

    @Test("writes leave no temporary files behind")
    func noTemporaries() throws {
        try Self.withStore { store, keys in
            for id in ["1", "2", "3"] { try store.create(try App.generate(id: id, now: Date())) }
            _ = try? store.create(try App.generate(id: "2", now: Date()))
            let names = try FileManager.default.contentsOfDirectory(atPath: keys.path + "/apps").sorted()
            #expect(names == ["1.json", "2.json", "3.json"])
        }
    }

    @Test("concurrent creates of different ids all succeed")
    func concurrentCreates() async throws {
        let keys = TemporaryDirectory()
        defer { keys.remove() }
        let store = AppCredentialStore(directory: KeyDirectory(path: keys.path))
        let ids = (1...24).map { "app-\($0)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids { group.addTask { try store.create(try App.generate(id: id, now: Date())) } }
            try await group.waitForAll()
        }
        #expect(try store.loadAll().map(\.id).sorted() == ids.sorted())
        let names = try FileManager.default.contentsOfDirectory(atPath: keys.path + "/apps")
        #expect(names.allSatisfy { $0.hasSuffix(".json") && !$0.hasPrefix(".") })
    }

    @Test("concurrent creates of one id: exactly one wins")
    func concurrentSameID() async throws {
        let keys = TemporaryDirectory()
        defer { keys.remove() }
        let store = AppCredentialStore(directory: KeyDirectory(path: keys.path))
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<12 { group.addTask { (try? store.create(try App.generate(id: "same", now: Date()))) != nil } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(try store.loadAll().count == 1)
    }
}
