import AsyncHTTPClient
import Logging
import NIOCore
import UsherCrypto

/// Forwards frames published on this node (trigger API, client events) to the other relay nodes, which deliver them
/// to their own subscribers only. Peers authenticate each other with the shared relay token.
struct PeerForwarder: Sendable {
    /// The internal route a peer receives forwarded frames on.
    static let path = "/relay-internal/v1/publish"

    let client: HTTPClient
    let peers: [String]
    let token: String
    let logger: Logger

    /// Posts `{"app","channels","frame","socket_id"?}` to every peer concurrently; failures are logged, not retried.
    func forward(app: String, channels: [String], frame: String, exceptSocket: String?) async {
        guard !peers.isEmpty else { return }
        var body: [String: JSONValue] = ["app": .string(app), "channels": .array(channels.map(JSONValue.string)), "frame": .string(frame)]
        if let exceptSocket { body["socket_id"] = .string(exceptSocket) }
        let text = JSONValue.object(body).jsonText
        await withTaskGroup(of: Void.self) { group in
            for peer in peers {
                group.addTask {
                    var request = HTTPClientRequest(url: peer + Self.path)
                    request.method = .POST
                    request.headers.add(name: "Authorization", value: "Bearer \(token)")
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: text))
                    do {
                        let response = try await client.execute(request, timeout: .seconds(5))
                        _ = try await response.body.collect(upTo: 1 << 16)
                        if response.status != .ok {
                            logger.warning("peer refused a forwarded event", metadata: ["usher.peer": "\(peer)", "usher.status": "\(response.status.code)"])
                        }
                    } catch {
                        logger.warning("peer unreachable", metadata: ["usher.peer": "\(peer)", "usher.error": "\(error)"])
                    }
                }
            }
        }
    }
}
