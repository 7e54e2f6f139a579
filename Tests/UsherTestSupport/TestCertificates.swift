import Foundation

/// A throwaway certificate authority and server certificates made with the `openssl` command at test time (nothing
/// secret is committed): the CA signs leaf certificates for 127.0.0.1 / localhost.
public struct TestCertificates: Sendable {
    /// The folder holding every file; remove it when done.
    public let directory: String

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Makes a new CA (`<name>-ca.pem`) in a fresh temporary folder.
    public init(caName: String = "ca") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("usher-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try makeCA(caName)
    }

    public func path(_ name: String) -> String { directory + "/" + name }

    /// Another CA in the same folder.
    public func makeCA(_ name: String) throws {
        try run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=Usher test CA \(name)", "-keyout", path("\(name)-ca.key"), "-out", path("\(name)-ca.pem"),
        ])
    }

    /// A server certificate and key signed by CA `ca`, for `hosts` (DNS names or IP addresses), written as
    /// `<name>.pem` (leaf then CA: a chain) and `<name>.key`.
    public func makeServer(_ name: String, ca: String = "ca", hosts: [String] = ["127.0.0.1", "localhost"]) throws {
        let names = hosts.map { $0.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" } ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
        try "subjectAltName=\(names)\nextendedKeyUsage=serverAuth\n".write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
        try run([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=\(hosts.first ?? name)",
            "-keyout", path("\(name).key"), "-out", path("\(name).csr"),
        ])
        try run([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca)-ca.pem"), "-CAkey", path("\(ca)-ca.key"),
            "-CAcreateserial", "-days", "2", "-extfile", path("\(name).ext"), "-out", path("\(name).leaf.pem"),
        ])
        let chain = try String(contentsOfFile: path("\(name).leaf.pem"), encoding: .utf8) + String(contentsOfFile: path("\(ca)-ca.pem"), encoding: .utf8)
        try chain.write(toFile: path("\(name).pem"), atomically: true, encoding: .utf8)
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw Failure(description: "openssl \(arguments.first ?? "") failed: \(text)")
        }
    }
}
