import Foundation
@_spi(Fuzzing) import UsherCrypto
@_spi(Fuzzing) import UsherServer

/// The YAML configuration loader (`ConfigurationLoader.load(yaml:baseDirectory:into:)`, Yams underneath), with a
/// base directory holding the identity key files docs/configuration.md names (`hs256.secret`, `public.pem`,
/// `jwks.json`), so the loader's key branches are reached.
///
/// Properties: no crash or hang; a configuration it accepts has distinct app ids, and its numbers are within the
/// ranges the loader enforces.
enum ConfigTarget {
    static let baseDirectory: String = {
        let directory = scratchDirectory + "/config"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let key = try AsymmetricKey.generate(.p256)
            let files = [
                "hs256.secret": "config-fuzz-secret-0123456789abcdef\n",
                "public.pem": try key.publicKeyPEM(),
                "jwks.json": JSONValue.object(["keys": .array([.object(try key.publicJWK().merging(["kid": .string("k1"), "alg": .string("ES256")]) { $1 })])]).jsonText,
            ]
            for (name, text) in files {
                let path = directory + "/" + name
                _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
            }
        } catch {
            fail("cannot write the configuration fixture: \(error)")
        }
        return directory
    }()

    static func run(_ data: UnsafeRawBufferPointer) {
        let text = String(decoding: data, as: UTF8.self)
        var configuration = UsherConfiguration()
        guard (try? ConfigurationLoader.load(yaml: text, baseDirectory: baseDirectory, into: &configuration)) != nil else { return }
        check(Set(configuration.apps.map(\.id)).count == configuration.apps.count, "accepted apps with the same id")
        check((0...65535).contains(configuration.port), "accepted port \(configuration.port)")
        check((1024...(1 << 20)).contains(configuration.maxBodyBytes), "accepted max_body_bytes \(configuration.maxBodyBytes)")
        for app in configuration.apps {
            check(app.presence.maxMembers >= 1 && app.presence.maxUserInfoBytes >= 2 && app.presence.maxUserIDLength >= 1, "accepted presence limits \(app.presence)")
        }
    }
}
