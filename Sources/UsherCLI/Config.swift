import ArgumentParser
import Foundation
import UsherServer

/// `usher config`: configuration tools.
struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a configuration before serving it.", subcommands: [Check.self])

    /// `usher config check`: loads the configuration and key files as `usher serve` does, without serving.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate usher.yaml and the key files it needs, without serving or changing anything.",
            discussion: """
                Exits 0 and prints what it found (apps, rules, keys, store; never a secret), or exits 1 with the message \
                `usher serve` would stop with. Nothing is created: no key directory, signing key or relay token.

                Example:
                  usher config check --config usher.yaml --keys /etc/usher/keys
                """
        )

        @Option(help: "YAML configuration file (env USHER_CONFIG).")
        var config: String?
        @Option(help: "Key directory (env USHER_KEYS; default keys).")
        var keys: String?
        @Option(help: "Presence store to check the URL of: memory or postgres://… (env USHER_STORE).")
        var store: String?

        func run() throws {
            let environment = ProcessInfo.processInfo.environment
            var configuration = UsherConfiguration()
            do {
                if let path = config ?? environment["USHER_CONFIG"] { try ConfigurationLoader.load(file: path, into: &configuration) }
                if let value = keys ?? environment["USHER_KEYS"] { configuration.keysDirectory = value }
                if let value = store ?? environment["USHER_STORE"] { configuration.store.select(value) }
                for line in try checkConfiguration(configuration) { print(line) }
                print("configuration OK")
            } catch {
                throw CLIError(error.message)
            }
        }
    }
}
