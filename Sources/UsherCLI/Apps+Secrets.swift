import ArgumentParser
import Foundation
import UsherCore
import UsherServer

extension Apps {
    /// `usher apps rotate-secret ID`: a new secret signs at once; the old ones verify until the overlap ends.
    struct RotateSecret: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-secret", abstract: "Give an app a new secret; the old one keeps verifying for the overlap.",
            discussion: "Example:\n  usher apps rotate-secret 4712 --overlap 1d --keys /etc/usher/keys"
        )
        @Argument(help: "The app id.") var id: String
        @Option(help: "How long the previous secret keeps verifying (e.g. 1h, 7d).") var overlap = DurationArgument(seconds: 86_400)
        @Option(help: "The new secret (default: 64 random hex characters).") var secret: String?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var keys: KeysOption

        func run() throws {
            let now = Date()
            let app = try CLIError.wrap { () throws(ServerError) in
                try keys.store.update(id: id) { (app: App) throws(ServerError) -> App in
                    do { return try app.rotatingSecret(secret, overlap: overlap.duration, now: now) } catch {
                        throw .keyDirectory("\(error)")
                    }
                }
            }
            let newest = app.signingSecret(at: now)!
            if json {
                let output: [String: String] = ["id": app.id, "secret_id": newest.id, "secret": newest.secret]
                return print(try JSONText.encode(output))
            }
            print("App \(app.id) signs with new secret \(newest.id) (shown once):")
            print("  secret: \(newest.secret)")
            print("Previous secrets verify until \(ISO8601DateFormatter().string(from: now.addingTimeInterval(Double(overlap.seconds)))).")
        }
    }

    /// `usher apps show ID`: the app and each secret's status, never the secrets themselves.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show an app and the status of each secret.", discussion: "Example:\n  usher apps show 4712 --json")
        @Argument(help: "The app id.") var id: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var keys: KeysOption

        func run() throws {
            guard let app = try CLIError.wrap({ () throws(ServerError) in try keys.store.load(id: id) }) else {
                throw CLIError("no app \(id) in \(keys.store.directory.path)/apps")
            }
            let now = Date()
            let signing = app.signingSecret(at: now)?.id
            let rows = app.secrets.map { secret -> [String: String] in
                let status = secret.id == signing ? "signing" : secret.isUsable(at: now) ? "verifying" : "expired"
                var row = ["id": secret.id, "status": status, "created": ISO8601DateFormatter().string(from: secret.created)]
                if let end = secret.notAfter { row["not_after"] = ISO8601DateFormatter().string(from: end) }
                return row
            }
            if json {
                struct Output: Encodable { let id: String; let key: String; let name: String?; let encrypted: Bool; let secrets: [[String: String]] }
                let output = Output(id: app.id, key: app.key, name: app.name, encrypted: app.encryptionMasterKey != nil, secrets: rows)
                return print(try JSONText.encode(output))
            }
            print("App \(app.id)\(app.name.map { " (\($0))" } ?? "")  key \(app.key)  encrypted channels: \(app.encryptionMasterKey != nil ? "yes" : "no")")
            for row in rows {
                print("  secret \(row["id"]!)  \(row["status"]!)  created \(row["created"]!)\(row["not_after"].map { "  not after \($0)" } ?? "")")
            }
        }
    }
}
