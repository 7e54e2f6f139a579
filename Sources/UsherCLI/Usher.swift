import ArgumentParser

/// `usher`: the channel authorization and presence service, and the CLI that manages its keys.
@main
struct Usher: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usher",
        abstract: "Pusher-compatible channel authorization and presence service.",
        version: UsherVersion.current,
        subcommands: [Serve.self, Relay.self, Apps.self, Keys.self, Config.self]
    )
}

/// The version `usher --version` prints (CHANGELOG.md says what changed).
enum UsherVersion {
    static let current = "0.9.0"
}
