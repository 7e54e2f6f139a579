import ArgumentParser

/// `usher`: the channel authorization and presence service, and the CLI that manages its keys.
@main
struct Usher: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usher",
        abstract: "Pusher-compatible channel authorization and presence service.",
        subcommands: [Serve.self, Relay.self, Apps.self, Keys.self]
    )
}
