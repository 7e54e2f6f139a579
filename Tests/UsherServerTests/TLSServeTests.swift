import Foundation
import Logging
import ServiceLifecycle
import Testing
import UsherNIO
import UsherTestSupport
@testable import UsherServer

/// `usher serve` over HTTPS: certificates given as PEM files, checked at start, reloaded when they change.
@Suite struct TLSServeTests {
    @Test("over TLS the auth fast path and the router answer as over plain HTTP; a client not trusting the CA refuses")
    // (Certificates for another name, and expired ones: Tests/compat/test_tls.py, with Python's TLS client.)
    func servesHTTPS() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        try certificates.makeServer("server")
        try certificates.makeCA("other")
        var server = try TestServer.pusher()
        server.tls = try TLSCertificates(files: .init(certificateChain: certificates.path("server.pem"), privateKey: certificates.path("server.key")))
        let token = try Fixtures.token()
        try await server.run { client in
            let port = try #require(client.port)
            let connection = try await TLSTestConnection.connect(port: port, caFile: certificates.path("ca-ca.pem"))
            defer { connection.close() }
            let auth = try await connection.post(
                "/pusher/auth", body: AuthFastPathTests.auth, contentType: "application/x-www-form-urlencoded",
                headers: "Authorization: Bearer \(token)\r\n")
            #expect(auth.status == 200 && auth.body.contains(#""auth":"#))
            #expect(try await connection.get("/healthz").status == 200)
            await #expect(throws: (any Error).self, "a CA the client does not trust") {
                try await TLSTestConnection.connect(port: port, caFile: certificates.path("other-ca.pem"))
            }
        }
    }

    @Test("a renewed certificate is used by new connections without a restart, and an open connection keeps working")
    func reloads() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        try certificates.makeServer("server")
        try certificates.makeCA("renewed")
        try certificates.makeServer("next", ca: "renewed")
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("usher-tls-keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: keys) }
        var configuration = UsherConfiguration()
        configuration.keysDirectory = keys
        configuration.port = try TestPorts.free()
        configuration.tls = .init(certificateChain: certificates.path("live.pem"), privateKey: certificates.path("live.key"))
        try FileManager.default.copyItem(atPath: certificates.path("server.pem"), toPath: certificates.path("live.pem"))
        try FileManager.default.copyItem(atPath: certificates.path("server.key"), toPath: certificates.path("live.key"))
        let app = try buildApplication(configuration: configuration, logger: Fixtures.quietLogger)
        let group = ServiceGroup(services: [app], logger: Fixtures.quietLogger)
        let running = Task { try await group.run() }
        defer { running.cancel() }
        let listening = configuration.port
        var open: TLSTestConnection?
        for _ in 0..<100 where open == nil {
            try await Task.sleep(for: .milliseconds(50))
            open = try? await TLSTestConnection.connect(port: listening, caFile: certificates.path("ca-ca.pem"))
        }
        let first = try #require(open)
        // Replace the pair the way certbot does: new files moved over the old ones.
        for suffix in ["pem", "key"] {
            try FileManager.default.copyItem(atPath: certificates.path("next.\(suffix)"), toPath: certificates.path("staged.\(suffix)"))
            _ = rename(certificates.path("staged.\(suffix)"), certificates.path("live.\(suffix)"))
        }
        var renewed: TLSTestConnection?
        for _ in 0..<50 where renewed == nil {
            try await Task.sleep(for: .milliseconds(100))
            renewed = try? await TLSTestConnection.connect(port: listening, caFile: certificates.path("renewed-ca.pem"))
        }
        #expect(renewed != nil, "new connections get the renewed certificate within 5 s")
        #expect(try await first.get("/healthz").status == 200, "the connection opened before the renewal still works")
        first.close()
        renewed?.close()
        await group.triggerGracefulShutdown()
        _ = try? await running.value
    }

    @Test("start-up names what is wrong: a missing file, a file without a certificate, a key of another certificate")
    func refusesBadPairs() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        try certificates.makeServer("server")
        try certificates.makeServer("other")
        func failure(_ chain: String, _ key: String) -> String {
            do {
                _ = try TLSCertificates(files: .init(certificateChain: certificates.path(chain), privateKey: certificates.path(key)))
                return "loaded"
            } catch {
                return error.description
            }
        }
        #expect(failure("missing.pem", "server.key").contains("missing.pem: cannot read the file"))
        #expect(failure("server.key", "server.key").contains("no PEM certificate"))
        #expect(failure("server.pem", "other.key").contains("does not belong to the first certificate"))
        #expect(failure("server.pem", "server.key") == "loaded")
        // The key's content never appears in a message.
        let key = try String(contentsOfFile: certificates.path("other.key"), encoding: .utf8)
        let body = key.split(separator: "\n").dropFirst().first.map(String.init) ?? "-"
        #expect(!failure("server.pem", "other.key").contains(body))
    }
}
