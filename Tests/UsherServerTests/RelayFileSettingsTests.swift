import Foundation
import Testing
@testable import UsherServer

/// `relay.yaml` (`usher relay --config`): every field loads, relative paths are the file's folder's, mistakes fail
/// naming the field, and docs/relay.md documents exactly the fields there are.
@Suite struct RelayFileSettingsTests {
    static let example = """
        usher: { url: "https://usher.internal:8443", token_file: keys/relay.token, ca_file: /etc/usher/tls/ca.pem }
        keys: keys
        server: { host: 0.0.0.0, port: 6443, event_loop_threads: 4, tls: { cert_file: tls/fullchain.pem, key_file: tls/privkey.pem } }
        node: { id: relay-a, forward_url: "https://relay-a.internal:6443", peers: ["https://relay-b.internal:6443"], heartbeat_seconds: 3 }
        clients: { activity_timeout_seconds: 60, pong_timeout_seconds: 20, max_connection_rate: 50 }
        """

    @Test("the example loads every field; relative paths are the file's folder's")
    func example() throws {
        let settings = try RelayFileSettings.load(yaml: Self.example, baseDirectory: "/etc/usher")
        var expected = RelayFileSettings()
        expected.usherURL = "https://usher.internal:8443"
        expected.relayTokenFile = "/etc/usher/keys/relay.token"
        expected.trustedCAFile = "/etc/usher/tls/ca.pem"
        expected.keysDirectory = "/etc/usher/keys"
        expected.host = "0.0.0.0"
        expected.port = 6443
        expected.eventLoopThreads = 4
        expected.tlsCertificate = "/etc/usher/tls/fullchain.pem"
        expected.tlsKey = "/etc/usher/tls/privkey.pem"
        expected.node = "relay-a"
        expected.forwardURL = "https://relay-a.internal:6443"
        expected.peers = ["https://relay-b.internal:6443"]
        expected.heartbeatSeconds = 3
        expected.activityTimeoutSeconds = 60
        expected.pongTimeoutSeconds = 20
        expected.maxConnectionRate = 50
        #expect(settings == expected)
        #expect(try RelayFileSettings.load(yaml: "", baseDirectory: ".") == RelayFileSettings())
    }

    @Test("a mistake fails naming the field", arguments: [
        ("servr: {}", "servr: unknown field"),
        ("server: { prot: 1 }", "server.prot"),
        ("server: { port: 70000 }", "server.port"),
        ("server: { tls: { cert_file: a.pem } }", "cert_file and key_file are both required"),
        ("usher: { url: ftp://x }", "usher.url"),
        ("node: { peers: [\"not a url\"] }", "node.peers[0]"),
        ("clients: { pong_timeout_seconds: 0 }", "clients.pong_timeout_seconds"),
        ("[1, 2]", "expected a mapping"),
    ])
    func refused(yaml: String, fragment: String) {
        let error = #expect(throws: ServerError.self) { try RelayFileSettings.load(yaml: yaml, baseDirectory: ".") }
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "no error")")
    }

    @Test("docs/relay.md's relay.yaml table lists exactly the fields the loader accepts, and its example loads")
    func documented() throws {
        let text = try DocsTests.read("docs/relay.md")
        let section = try #require(text.components(separatedBy: "## The relay configuration file").last)
        let documented = Set(section.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `") else { return nil }
            return line.dropFirst(3).split(separator: "`").first.map(String.init)
        })
        #expect(documented == Set(RelayFileSettings.fields), "\(documented.symmetricDifference(Set(RelayFileSettings.fields)).sorted())")
        let yaml = try #require(section.components(separatedBy: "```yaml relay.yaml\n").dropFirst().first?.components(separatedBy: "```").first)
        _ = try RelayFileSettings.load(yaml: yaml, baseDirectory: "/etc/usher")
    }
}
