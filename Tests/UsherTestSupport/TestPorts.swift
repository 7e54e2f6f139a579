import NIOCore
import NIOPosix
import Synchronization

/// Loopback ports for test servers, shared by every test target in the process.
public enum TestPorts {
    public struct Exhausted: Error {}

    /// A port nothing listens on, handed out once: ports are taken in turn below the ephemeral range (32768+, where
    /// outgoing connections take their local ports), so tests running in parallel never pick the same one and no
    /// client connection grabs it between the check and the server's bind.
    public static func free() throws -> Int {
        while true {
            let port = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard port < 32_000 else { throw Exhausted() }
            if let channel = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: port).wait() {
                try? channel.close().wait()
                return port
            }
        }
    }

    private static let next = Atomic<Int>(Int.random(in: 20_000..<30_000))
}
