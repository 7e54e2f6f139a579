import ArgumentParser

/// `usher relay`: runs the reference Pusher-protocol WebSocket relay against an Usher instance.
struct Relay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the reference Pusher-protocol WebSocket relay.")

    func run() async throws {
        throw CLIError("usher relay is not implemented yet")
    }
}
