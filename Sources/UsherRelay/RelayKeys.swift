import Foundation
public import UsherCore

/// Reads what a relay needs from an Usher key directory: the app records in `apps/*.json` and `relay.token`.
///
/// The relay shares the directory with `usher serve` on one machine; on another machine copy those files (mode 0600).
public enum RelayKeys {
    /// Every `apps/<id>.json` under `directory`, validated.
    ///
    /// - Throws: ``RelayError`` naming the file that could not be read or is not a valid app record.
    public static func loadApps(from directory: String) throws(RelayError) -> [App] {
        let folder = URL(fileURLWithPath: directory).appendingPathComponent("apps")
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw .configuration("cannot list \(folder.path): \(error.localizedDescription)")
        }
        return try names.map { name throws(RelayError) in
            let file = folder.appendingPathComponent(name)
            do {
                return try App(record: JSONDecoder().decode(App.Record.self, from: Data(contentsOf: file)))
            } catch {
                throw .configuration("\(file.path) is not a valid app record")
            }
        }
    }

    /// The relay token in `path`, trimmed; at least 32 characters.
    public static func loadToken(from path: String) throws(RelayError) -> String {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .configuration("cannot read the relay token \(path)")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.utf8.count >= 32 else { throw .configuration("\(path) must hold at least 32 characters") }
        return token
    }
}
