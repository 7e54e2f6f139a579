public import Foundation
import UsherCrypto

/// Verifies Pusher HTTP API request signatures (PUSHER-PROTOCOL.md §7), as the official server SDKs sign them.
///
/// `string_to_sign = METHOD\nPATH\nparams`, where params are every decoded query parameter except
/// `auth_signature`, keys lower-cased, sorted, joined as `k=v` with `&` and not escaped; the signature is the
/// lowercase hex HMAC-SHA256 with the app secret, compared in constant time against every secret still verifying.
public struct APIRequestSignature: Sendable {
    /// A request as received: upper-case method, the path exactly as sent, decoded query pairs, raw body.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(name: String, value: String)]
        public var body: [UInt8]

        public init(method: String, path: String, query: [(name: String, value: String)], body: [UInt8]) {
            self.method = method
            self.path = path
            self.query = query
            self.body = body
        }
    }

    /// Largest tolerated difference between `auth_timestamp` and the server clock.
    public var maxClockSkew: TimeInterval

    public init(maxClockSkew: TimeInterval = 600) {
        self.maxClockSkew = maxClockSkew
    }

    /// The `auth_key` a request names (to find the app before verifying).
    public static func authKey(of request: Request) -> String? {
        request.query.first { $0.name.lowercased() == "auth_key" }?.value
    }

    /// Verifies `request` for `app` at `now`.
    public func verify(_ request: Request, app: App, now: Date) throws(APIAuthError) {
        var params: [String: String] = [:]
        for (name, value) in request.query {
            guard params.updateValue(value, forKey: name.lowercased()) == nil else { throw .duplicateParameter(name) }
        }
        guard let key = params["auth_key"] else { throw .missing("auth_key") }
        guard ConstantTime.equals(Array(key.utf8), Array(app.key.utf8)) else { throw .unknownKey }
        guard let version = params["auth_version"] else { throw .missing("auth_version") }
        guard version == "1.0" else { throw .invalid("auth_version must be 1.0") }
        guard let timestamp = params["auth_timestamp"] else { throw .missing("auth_timestamp") }
        guard let seconds = Double(timestamp), abs(now.timeIntervalSince1970 - seconds) < maxClockSkew else {
            throw .expiredTimestamp(maxSkew: Int(maxClockSkew))
        }
        let bodyMD5 = Hex.encode(MD5.hash(request.body))
        if let given = params["body_md5"] {
            guard given == bodyMD5 else { throw .invalid("body_md5 does not match the body") }
        } else if !request.body.isEmpty {
            throw .missing("body_md5")
        }
        guard let signature = params.removeValue(forKey: "auth_signature") else { throw .missing("auth_signature") }
        let stringToSign = Self.stringToSign(method: request.method, path: request.path, params: params)
        let valid = app.verifyingSecrets(at: now).contains { $0.hmacKey.isValid(hexMAC: Substring(signature), for: stringToSign) }
        guard valid else { throw .badSignature(stringToSign: stringToSign) }
    }

    /// `METHOD\nPATH\nk=v&…` with sorted, lower-cased, unescaped parameters.
    public static func stringToSign(method: String, path: String, params: [String: String]) -> String {
        // Code-point order, as the SDKs sort (String's `<` compares canonically: fuzzing finding F2).
        let names = params.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        let query = names.map { "\($0)=\(params[$0]!)" }.joined(separator: "&")
        return method.uppercased() + "\n" + path + "\n" + query
    }
}

/// Why an HTTP API request was refused; messages say what was wrong and never include a secret.
public struct APIAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 400 for a malformed query (duplicates), 401 otherwise.
    public let isMalformed: Bool
    public let description: String

    static func missing(_ name: String) -> APIAuthError { .init(isMalformed: false, description: "missing \(name)") }
    static func invalid(_ text: String) -> APIAuthError { .init(isMalformed: false, description: text) }
    static func duplicateParameter(_ name: String) -> APIAuthError { .init(isMalformed: true, description: "duplicate parameter \(name)") }
    static let unknownKey = APIAuthError(isMalformed: false, description: "unknown auth_key")
    static func expiredTimestamp(maxSkew: Int) -> APIAuthError {
        .init(isMalformed: false, description: "auth_timestamp is more than \(maxSkew) s away from the server time")
    }
    static func badSignature(stringToSign: String) -> APIAuthError {
        .init(isMalformed: false, description: "invalid auth_signature; expected HMAC-SHA256 of \(JSON.quoted(stringToSign))")
    }
}
