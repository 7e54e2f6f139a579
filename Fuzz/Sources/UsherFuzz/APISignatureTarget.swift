import Foundation
@_spi(Fuzzing) import UsherCore
@_spi(Fuzzing) import UsherCrypto
@_spi(Fuzzing) import UsherServer

/// HTTP API request verification: `FormEncoding.splitTarget` (through `APIRequestVerifier.split`),
/// `APIRequestSignature` and its caller `APIRequestVerifier.authenticate`, with a Hummingbird request.
///
/// Input: byte 0 picks the method, the URL's app id and whether the harness re-signs; then the request target, a
/// line feed, and the body. Re-signing replaces `auth_*` and `body_md5` with a current, correct signature computed
/// here from PUSHER-PROTOCOL.md §7 (lower-cased names sorted by code point, `METHOD\nPATH\nk=v&…`), values
/// percent-encoded. Properties: the split agrees with a reference; a request not re-signed is never accepted; a
/// re-signed one is accepted with exactly its parameters, unless two names are equal once lower-cased (400); no
/// answer is a 500.
enum APISignatureTarget {
    static let methods = ["GET", "POST", "DELETE", "get", "PUT", "OPTIONS"]
    static let appIDs: [String?] = [ServerFuzzing.Fixture.appID, nil, ServerFuzzing.Fixture.devAppID, "nope"]

    static func run(_ data: UnsafeRawBufferPointer) {
        var reader = FuzzReader(data)
        let selector = reader.byte()
        let method = methods[Int(selector & 7) % methods.count]
        let appID = appIDs[Int(selector >> 3 & 3)]
        let resign = selector & 0x20 != 0
        let parts = Array(reader.rest).split(separator: UInt8(ascii: "\n"), maxSplits: 1, omittingEmptySubsequences: false)
        let sent = String(decoding: parts[0], as: UTF8.self)
        let target = sent.hasPrefix("/") ? sent : "/" + sent
        let body = parts.count > 1 ? Array(parts[1]) : []

        let split = ServerFuzzing.splitAPITarget(target)
        let reference = referenceSplit(target)
        check(
            split?.path == reference?.path && split.map { $0.query.map { [$0.name, $0.value] } } == reference.map { $0.query.map { [$0.name, $0.value] } },
            "the target's split disagrees with the reference: \(show(target.utf8))")

        if resign, let reference {
            // A client escapes what may not stand in a request target (llhttp refuses it; HTTPTypes, which the
            // harness hands the target to directly, would turn it into spaces).
            var path = ""
            for byte in reference.path.utf8 {
                if (0x21...0x7E).contains(byte) { path.unicodeScalars.append(Unicode.Scalar(byte)) } else { path += "%" + Hex.encode([byte]).uppercased() }
            }
            resigned(method: method, path: path, query: reference.query, body: body, appID: appID)
        } else {
            let outcome = runBlocking { await fixture.authenticateAPI(method: method, target: target, body: body, appID: appID) }
            switch outcome {
            case .success: fail("an unsigned request was accepted: \(method) \(show(target.utf8))")
            case .failure(let answer): check([400, 401].contains(answer.status), "answered \(answer.status): \(answer.body)")
            }
        }
    }

    private static func resigned(method: String, path: String, query: [(name: String, value: String)], body: [UInt8], appID: String?) {
        let isAuthName = { (name: String) in name.lowercased().hasPrefix("auth_") || name.lowercased() == "body_md5" }
        var pairs = query.filter { !isAuthName($0.name) }
        let (key, secret) = appID == ServerFuzzing.Fixture.devAppID
            ? (ServerFuzzing.Fixture.devAppKey, ServerFuzzing.Fixture.devAppSecret) : (ServerFuzzing.Fixture.appKey, ServerFuzzing.Fixture.appSecret)
        pairs.append(("auth_key", key))
        pairs.append(("auth_timestamp", String(Int(Date().timeIntervalSince1970))))
        pairs.append(("auth_version", "1.0"))
        if !body.isEmpty { pairs.append(("body_md5", Hex.encode(MD5.hash(body)))) }
        var params: [String: String] = [:]
        var duplicate = false
        for (name, value) in pairs where params.updateValue(value, forKey: name.lowercased()) != nil { duplicate = true }
        let sorted = params.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        let stringToSign = method.uppercased() + "\n" + path + "\n" + sorted.map { "\($0)=\(params[$0]!)" }.joined(separator: "&")
        let signature = HMACKey(secret: secret).hexMAC(stringToSign)
        pairs.append(("auth_signature", signature))
        let target = path + "?" + pairs.map { percentEncode($0.name) + "=" + percentEncode($0.value) }.joined(separator: "&")

        let outcome = runBlocking { await fixture.authenticateAPI(method: method, target: target, body: body, appID: appID) }
        let expectsApp = appID == nil || appID == ServerFuzzing.Fixture.appID || appID == ServerFuzzing.Fixture.devAppID
        switch outcome {
        case .success(let parameters):
            check(!duplicate && expectsApp, "a request with duplicate names or another app's id was accepted: \(show(target.utf8))")
            params["auth_signature"] = signature
            check(parameters == params, "verified parameters \(parameters), sent \(params)")
        case .failure(let answer):
            if !expectsApp {
                check([400, 401].contains(answer.status), "answered \(answer.status): \(answer.body)")
            } else if duplicate {
                check(answer.status == 400, "duplicate names answered \(answer.status): \(answer.body)")
            } else {
                fail("a correctly signed request was refused (\(answer.status) \(answer.body)); string to sign \(JSON.quoted(stringToSign))")
            }
        }
    }

    /// Path before the first `?`; `&`-separated pairs after it (empty ones skipped), split at the first `=`, decoded.
    static func referenceSplit(_ target: String) -> (path: String, query: [(name: String, value: String)])? {
        let bytes = Array(target.utf8)
        guard let mark = bytes.firstIndex(of: UInt8(ascii: "?")) else { return (target, []) }
        var query: [(name: String, value: String)] = []
        for pair in bytes[(mark + 1)...].split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = referenceFormDecode(parts[0]), let value = parts.count > 1 ? referenceFormDecode(parts[1]) : "" else { return nil }
            query.append((name, value))
        }
        return (String(decoding: bytes[..<mark], as: UTF8.self), query)
    }
}
