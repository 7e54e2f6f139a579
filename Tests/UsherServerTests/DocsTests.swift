import Foundation
import Testing
@testable import UsherServer

/// The documentation cannot drift from the configuration loader: every YAML example in the docs loads, and the field
/// table in docs/configuration.md lists exactly the fields the loader accepts.
@Suite struct DocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func read(_ relativePath: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relativePath), encoding: .utf8)
    }

    /// Every ```yaml block of README.md and docs/*.md (relay.yaml examples are fenced ```yaml relay.yaml).
    static func yamlExamples() throws -> [(file: String, yaml: String)] {
        let docs = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        return try (["README.md"] + docs).flatMap { file in
            try read(file).components(separatedBy: "```yaml\n").dropFirst().map { (file, $0.components(separatedBy: "```")[0]) }
        }
    }

    @Test("every YAML example in the docs loads with the real configuration loader")
    func examplesLoad() throws {
        let examples = try Self.yamlExamples()
        #expect(examples.count >= 2)
        for (file, yaml) in examples {
            let folder = TemporaryDirectory()
            defer { folder.remove() }
            // The secret files an example names, with a usable secret and the mode Usher insists on.
            for line in yaml.split(separator: "\n") where line.contains("hs256_secret_file:") {
                let name = line.split(separator: ":")[1].split(separator: "#")[0].trimmingCharacters(in: .whitespaces)
                _ = try folder.write("0123456789abcdef0123456789abcdef\n", to: String(name), mode: 0o600)
            }
            var configuration = UsherConfiguration()
            let path = try folder.write(yaml, to: "usher.yaml")
            do {
                try ConfigurationLoader.load(file: path, into: &configuration)
            } catch {
                Issue.record("\(file): \(error.message)\n\(yaml)")
            }
        }
    }

    @Test("the field table in docs/configuration.md lists exactly the fields the loader accepts")
    func fieldTable() throws {
        let text = try Self.read("docs/configuration.md")
        let table = try #require(text.components(separatedBy: "## Every `usher.yaml` field").last)
        let documented = Set(table.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `") else { return nil }
            return line.dropFirst(3).split(separator: "`").first.map(String.init)
        })
        let accepted = Set(ConfigurationLoader.fields)
        #expect(documented.subtracting(accepted).isEmpty, "documented but not accepted: \(documented.subtracting(accepted).sorted())")
        #expect(accepted.subtracting(documented).isEmpty, "accepted but not documented: \(accepted.subtracting(documented).sorted())")
        #expect(documented.count >= 30, "the table was not found or not parsed")
    }
}
