import Foundation
public import UsherCore

/// App credentials in `keys/apps/<id>.json`, read and written through ``KeyDirectory``.
public struct AppCredentialStore: Sendable {
    /// The key directory holding `apps/`.
    public let directory: KeyDirectory

    public init(directory: KeyDirectory) {
        self.directory = directory
    }

    /// Every app on disk, sorted by id. Fails on an unreadable, corrupt or group/world-readable file.
    public func loadAll() throws(ServerError) -> [App] {
        try directory.jsonFiles(in: "apps").map { (name: String) throws(ServerError) -> App in try load(file: "apps/" + name) }
    }

    /// One app by id, or `nil` when it has no file.
    public func load(id: String) throws(ServerError) -> App? {
        guard directory.exists("apps/\(id).json") else { return nil }
        return try load(file: "apps/\(id).json")
    }

    /// Stores a new app; refuses to overwrite an existing id.
    public func create(_ app: App) throws(ServerError) {
        try directory.prepare()
        try directory.withLock { () throws(ServerError) in
            guard !directory.exists("apps/\(app.id).json") else { throw .appExists(app.id) }
            try directory.writeAtomically(try encode(app), to: "apps/\(app.id).json")
        }
    }

    /// Replaces app `id` with `transform(current)`, read and written under the directory lock.
    @discardableResult
    public func update(id: String, _ transform: (App) throws(ServerError) -> App) throws(ServerError) -> App {
        try directory.withLock { () throws(ServerError) -> App in
            guard let current = try load(id: id) else { throw .keyDirectory("no app \(id) in \(directory.path)/apps") }
            let updated = try transform(current)
            try directory.writeAtomically(try encode(updated), to: "apps/\(id).json")
            return updated
        }
    }

    private func load(file: String) throws(ServerError) -> App {
        let data = try directory.readPrivate(file)
        do {
            let record = try JSONDecoder().decode(App.Record.self, from: data)
            let app = try App(record: record)
            guard file == "apps/\(app.id).json" else { throw ServerError.keyDirectory("\(file) holds app \(app.id)") }
            return app
        } catch let error as ServerError {
            throw error
        } catch {
            throw .keyDirectory("\(directory.path)/\(file) is not a valid app file: \(error)")
        }
    }

    private func encode(_ app: App) throws(ServerError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { return try encoder.encode(app.record) } catch { throw .keyDirectory("cannot encode app \(app.id)") }
    }
}
