import ArgumentParser
import Foundation
import UsherCore
import UsherCrypto
import UsherServer

/// `usher keys …`: the JWT signing key ring under `keys/signing/`. A running server picks changes up within seconds.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the JWT signing keys (keys/signing/).",
        subcommands: [List.self, Rotate.self, Retire.self, Prune.self, JWKS.self]
    )

    struct Options: ParsableArguments {
        @OptionGroup var keys: Apps.KeysOption
        @Flag(help: "Print JSON.") var json = false

        var store: SigningKeyStore { SigningKeyStore(directory: keys.store.directory) }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List signing keys and their status.", discussion: "Example:\n  usher keys list --json")
        @OptionGroup var options: Options

        func run() throws {
            let ring = try CLIError.wrap { () throws(ServerError) in try options.store.loadRing() }
            if options.json {
                print(try JSONText.encode(ring.records, dates: true))
                return
            }
            guard !ring.records.isEmpty else { return print("No signing keys. `usher keys rotate` creates one.") }
            for record in ring.records {
                let until = record.retireAt.map { " until \(ISO8601DateFormatter().string(from: $0))" } ?? ""
                print("\(record.kid)  \(record.alg.rawValue)  \(record.status.rawValue)\(until)")
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new active key; the previous one keeps verifying for the overlap.",
            discussion: "Example:\n  usher keys rotate --alg ES256 --overlap 2h"
        )
        @OptionGroup var options: Options
        @Option(help: "ES256 (default), RS256 or EdDSA.") var alg: String = "ES256"
        @Option(help: "How long the previous key keeps verifying (e.g. 2h, 1d); at least the longest token TTL.")
        var overlap: DurationArgument = DurationArgument(seconds: 86_400)
        @Option(help: "The longest token TTL in seconds (tokens.max_ttl_seconds).") var maxTTL: Int64 = Int64(TokenSettings().maxTTLSeconds)

        func run() throws {
            guard let algorithm = JWTAlgorithm(rawValue: alg), algorithm != .hs256 else {
                throw CLIError("--alg must be ES256, RS256 or EdDSA")
            }
            guard overlap.seconds >= maxTTL else {
                throw CLIError("--overlap \(overlap) is shorter than the longest token TTL (\(maxTTL)s): tokens signed with the old key would stop verifying early")
            }
            let record = try CLIError.wrap { () throws(ServerError) in
                try options.store.rotate(algorithm: algorithm, overlap: overlap.duration + SigningKeyStore.reloadMargin, now: Date())
            }
            if options.json { return print(try JSONText.encode(record, dates: true)) }
            print("Active key is now \(record.kid) (\(record.alg.rawValue)); the previous key verifies for \(overlap) more.")
        }
    }

    struct Retire: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a key verifying now.", discussion: "Example:\n  usher keys retire 2026-12-01-a1b2c3   # a kid from usher keys list")
        @OptionGroup var options: Options
        @Argument(help: "The key id.") var kid: String

        func run() throws {
            try CLIError.wrap { () throws(ServerError) in try options.store.retire(kid, now: Date()) }
            if options.json { return print(try JSONText.encode(["retired": kid])) }
            print("Retired \(kid).")
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete keys that no longer verify.", discussion: "Example:\n  usher keys prune")
        @OptionGroup var options: Options

        func run() throws {
            let dropped = try CLIError.wrap { () throws(ServerError) in try options.store.prune(now: Date()) }
            if options.json { return print(try JSONText.encode(["pruned": dropped])) }
            print(dropped.isEmpty ? "Nothing to prune." : "Pruned \(dropped.joined(separator: ", ")).")
        }
    }

    struct JWKS: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the published JWKS (active and retiring keys).", discussion: "Example:\n  usher keys jwks > jwks.json")
        @OptionGroup var keys: Apps.KeysOption

        func run() throws {
            let loaded = try CLIError.wrap { () throws(ServerError) in
                try SigningKeyStore(directory: keys.store.directory).load(now: Date())
            }
            print(loaded.jwks)
        }
    }
}
