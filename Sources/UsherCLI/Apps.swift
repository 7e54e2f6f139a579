import ArgumentParser
import Foundation
import UsherCore
import UsherCrypto
import UsherServer

/// `usher apps …`: app credentials under `keys/apps/`.
struct Apps: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create and list apps (credentials in keys/apps/).",
        subcommands: [Create.self, List.self, Show.self, RotateSecret.self]
    )

    struct KeysOption: ParsableArguments {
        @Option(help: "Key directory (env USHER_KEYS; default keys).")
        var keys: String?

        var store: AppCredentialStore {
            AppCredentialStore(directory: KeyDirectory(path: keys ?? ProcessInfo.processInfo.environment["USHER_KEYS"] ?? "keys"))
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an app; generates whatever is not given.",
            discussion: "Example:\n  usher apps create --id 4712 --name chat --keys /etc/usher/keys   # prints key and secret once")
        @Option(help: "App id (default: 7 random digits).") var id: String?
        @Option(help: "App key (default: 20 random hex characters).") var key: String?
        @Option(help: "App secret (default: 64 random hex characters).") var secret: String?
        @Option(help: "A human-readable name.") var name: String?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var keys: KeysOption

        func run() throws {
            do {
                let app = try App.generate(id: id, key: key, secret: secret, name: name, now: Date())
                try keys.store.create(app)
                let secretText = app.secrets[0].secret
                if json {
                    let object: [String: String?] = [
                        "id": app.id, "key": app.key, "secret": secretText, "name": app.name,
                        "encryption_master_key": app.encryptionMasterKey.map { Base64.encode($0) },
                    ]
                    print(try JSONText.encode(object.compactMapValues { $0 }))
                } else {
                    print("Created app \(app.id) in \(keys.store.directory.path)/apps/\(app.id).json")
                    print("  key:    \(app.key)")
                    print("  secret: \(secretText)")
                    if let name = app.name { print("  name:   \(name)") }
                }
            } catch let error as CoreError {
                throw CLIError(error.message)
            } catch let error as ServerError {
                throw CLIError(error.message)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List apps (never prints secrets).", discussion: "Example:\n  usher apps list --keys /etc/usher/keys")
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var keys: KeysOption

        func run() throws {
            let apps: [App]
            do { apps = try keys.store.loadAll() } catch { throw CLIError(error.message) }
            if json {
                let rows = apps.map { app -> [String: String] in
                    var row = ["id": app.id, "key": app.key, "secrets": String(app.secrets.count)]
                    if let name = app.name { row["name"] = name }
                    return row
                }
                print(try JSONText.encode(rows))
                return
            }
            guard !apps.isEmpty else {
                print("No apps in \(keys.store.directory.path)/apps. Create one with `usher apps create`.")
                return
            }
            print("ID".padding(toLength: 12, withPad: " ", startingAt: 0) + "KEY".padding(toLength: 24, withPad: " ", startingAt: 0) + "SECRETS  NAME")
            for app in apps {
                print(app.id.padding(toLength: 12, withPad: " ", startingAt: 0) + app.key.padding(toLength: 24, withPad: " ", startingAt: 0)
                    + String(app.secrets.count).padding(toLength: 9, withPad: " ", startingAt: 0) + (app.name ?? ""))
            }
        }
    }
}

enum JSONText {
    static func encode(_ value: some Encodable, dates: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if dates { encoder.dateEncodingStrategy = .iso8601 }
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
