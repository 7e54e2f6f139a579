import Foundation
import UsherCrypto

/// Loads the identity verification keys named in an app's `identity` section.
enum IdentityKeyLoader {
    static func keys(from members: [String: ConfigNode], baseDirectory: String) throws(ServerError) -> [JWTKey] {
        if let node = members["hs256_secret_file"] {
            guard members["algorithm"] == nil else { throw node.fail("algorithm applies only to public_key_file") }
            let bytes = try read(node, baseDirectory: baseDirectory, secret: true)
            // Trailing newlines come from editors and `echo`; they are not part of the secret.
            var secret = bytes
            while let last = secret.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { secret.removeLast() }
            do { return [try .hmac(secret: secret)] } catch { throw node.fail("HS256 secrets must be at least 32 bytes") }
        }
        if let node = members["public_key_file"] {
            let pem = String(decoding: try read(node, baseDirectory: baseDirectory, secret: false), as: UTF8.self)
            do {
                let key = try AsymmetricKey(pem: pem)
                guard !key.isPrivate else { throw node.fail("expected a public key, found a private key") }
                let algorithm = try members["algorithm"].map { (alg: ConfigNode) throws(ServerError) -> JWTAlgorithm in
                    guard let value = JWTAlgorithm(rawValue: try alg.string()), value != .hs256 else {
                        throw alg.fail("expected RS256, ES256 or EdDSA")
                    }
                    return value
                } ?? defaultAlgorithm(for: key.family)
                return [try .asymmetric(key, algorithm: algorithm)]
            } catch let error as ServerError {
                throw error
            } catch {
                throw node.fail("\(error)")
            }
        }
        guard let node = members["jwks_file"] else { return [] }
        let text = String(decoding: try read(node, baseDirectory: baseDirectory, secret: false), as: UTF8.self)
        do { return try JWKSet.keys(fromJSON: text) } catch { throw node.fail("\(error)") }
    }

    private static func defaultAlgorithm(for family: AsymmetricKey.Family) -> JWTAlgorithm {
        switch family {
        case .p256: .es256
        case .rsa: .rs256
        case .ed25519: .edDSA
        }
    }

    private static func read(_ node: ConfigNode, baseDirectory: String, secret: Bool) throws(ServerError) -> [UInt8] {
        let given = try node.string()
        let path = given.hasPrefix("/") ? given : baseDirectory + "/" + given
        if secret, let mode = FilePermissions.mode(of: path), mode & 0o077 != 0 {
            throw node.fail("\(given) is readable by group or others (mode \(String(mode & 0o777, radix: 8))); run chmod 600")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw node.fail("cannot read file \(given)") }
        return Array(data)
    }
}
