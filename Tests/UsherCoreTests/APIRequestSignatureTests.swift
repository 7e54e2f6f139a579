import Foundation
import Testing
import UsherCore
import UsherCrypto

/// HTTP API request verification (PUSHER-PROTOCOL.md §7): the V10–V14 vectors, body_md5 rules, timestamp window,
/// malformed queries, tampered signatures and secret rotation.
@Suite struct APIRequestSignatureTests {
    static let timestamp = 1_353_088_179
    static let now = Date(timeIntervalSince1970: TimeInterval(timestamp))
    static let emptyMD5 = "d41d8cd98f00b204e9800998ecf8427e"
    static let v10Body = #"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#

    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let method: String
        let path: String
        let extra: [String: String]
        let body: String
        let md5: String?
        let stringToSign: String
        let signature: String
        var testDescription: String { name }
    }

    static let vectors = [
        Vector(
            name: "V10 POST events", method: "POST", path: "/apps/3/events", extra: [:], body: v10Body,
            md5: "ec365a775a4cd0599faeb73354201b6f",
            stringToSign: "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f",
            signature: "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"),
        Vector(
            name: "V11 GET channels (Python)", method: "GET", path: "/apps/3/channels",
            extra: ["filter_by_prefix": "presence-", "info": "user_count"], body: "", md5: emptyMD5,
            stringToSign: "GET\n/apps/3/channels\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=d41d8cd98f00b204e9800998ecf8427e&filter_by_prefix=presence-&info=user_count",
            signature: "f3f17c61ae491cc9085db68b22076e9b772e3bcb301659d655153ee3f9782aba"),
        Vector(
            name: "V12 GET channels (Node)", method: "GET", path: "/apps/3/channels",
            extra: ["filter_by_prefix": "presence-", "info": "user_count"], body: "", md5: nil,
            stringToSign: "GET\n/apps/3/channels\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count",
            signature: "16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291"),
        Vector(
            name: "V14 GET users (Python)", method: "GET", path: "/apps/3/channels/presence-foobar/users", extra: [:], body: "",
            md5: emptyMD5,
            stringToSign: "GET\n/apps/3/channels/presence-foobar/users\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=d41d8cd98f00b204e9800998ecf8427e",
            signature: "3d68b512095fd42cb6741cc80616761b1c77d00fcc4d6d9740f09504a4b761b0"),
    ]

    static func secret(_ id: String, _ text: String = Fixtures.secretText, notAfter: Date? = nil) -> AppSecret {
        AppSecret(id: id, secret: text, created: Date(timeIntervalSince1970: 0), notAfter: notAfter)
    }

    static func app(_ secrets: [AppSecret] = [secret("s1")]) throws -> App {
        try App(id: "3", key: Fixtures.appKey, secrets: secrets)
    }

    /// The auth params an SDK adds (Python style: body_md5 always), merged with `extra`.
    static func params(timestamp: Int = timestamp, md5: String? = emptyMD5, extra: [String: String] = [:]) -> [String: String] {
        var params = ["auth_key": Fixtures.appKey, "auth_timestamp": String(timestamp), "auth_version": "1.0"]
        if let md5 { params["body_md5"] = md5 }
        return params.merging(extra) { $1 }
    }

    /// A request signed the way the SDKs sign; `signature` overrides the computed one.
    static func signed(
        _ method: String = "GET", _ path: String = "/apps/3/channels", params: [String: String] = params(), body: String = "",
        secret: String = Fixtures.secretText, signature: ((String) -> String)? = nil
    ) -> APIRequestSignature.Request {
        let text = APIRequestSignature.stringToSign(method: method, path: path, params: params)
        let mac = HMACKey(secret: Array(secret.utf8)).hexMAC(text)
        let query = params.map { (name: $0.key, value: $0.value) } + [(name: "auth_signature", value: signature?(mac) ?? mac)]
        return .init(method: method, path: path, query: query, body: Array(body.utf8))
    }

    /// The refusal for `request`, or nil when it verifies.
    static func refusal(_ request: APIRequestSignature.Request, app: App? = nil, now: Date = now) throws -> APIAuthError? {
        let app = try app ?? Self.app()
        do {
            try APIRequestSignature().verify(request, app: app, now: now)
            return nil
        } catch {
            return error
        }
    }

    @Test("known-answer vectors: exact string to sign, signature and acceptance", arguments: vectors)
    func knownAnswers(_ vector: Vector) throws {
        var params = Self.params(md5: vector.md5, extra: vector.extra)
        if let md5 = vector.md5 { #expect(Hex.encode(MD5.hash(Array(vector.body.utf8))) == md5) }
        let text = APIRequestSignature.stringToSign(method: vector.method, path: vector.path, params: params)
        #expect(text == vector.stringToSign)
        #expect(Fixtures.secret.hexMAC(text) == vector.signature)
        params["auth_signature"] = vector.signature
        let request = APIRequestSignature.Request(
            method: vector.method, path: vector.path, query: params.map { ($0.key, $0.value) }, body: Array(vector.body.utf8))
        #expect(try Self.refusal(request) == nil)
    }

    @Test("keys are lower-cased and sorted; values enter unescaped")
    func canonicalParams() {
        let text = APIRequestSignature.stringToSign(method: "get", path: "/p", params: ["info": "user_count,subscription_count", "b": "a b"])
        #expect(text == "GET\n/p\nb=a b&info=user_count,subscription_count")
    }

    @Test("names sort by code point, as the SDKs sort, not canonically (fuzzing F2); the query starts at the ? byte (F4)")
    func codePointOrder() {
        // `e` + U+0301 sorts before `f` by code point; String's `<` would put it after (as `é`).
        let text = APIRequestSignature.stringToSign(method: "get", path: "/p", params: ["f": "2", "e\u{0301}": "1"])
        #expect(text == "GET\n/p\ne\u{0301}=1&f=2")
        // `?` followed by a combining mark is one Character; the query must still be found.
        let split = FormEncoding.splitTarget("/a?\u{0301}=1")
        #expect(split?.path == "/a")
        #expect(split?.query.map(\.name) == ["\u{0301}"])
    }

    @Test("body_md5: required with a body, MD5 of empty with no body, checked against the body")
    func bodyMD5Rules() throws {
        let md5 = "ec365a775a4cd0599faeb73354201b6f"
        #expect(try Self.refusal(Self.signed("POST", params: Self.params(md5: nil), body: Self.v10Body))?.description == "missing body_md5")
        #expect(try Self.refusal(Self.signed("POST", params: Self.params(md5: md5), body: Self.v10Body)) == nil)
        let wrong = try Self.refusal(Self.signed("POST", params: Self.params(md5: md5), body: Self.v10Body + " "))
        #expect(wrong?.description == "body_md5 does not match the body")
        #expect(try Self.refusal(Self.signed(params: Self.params(md5: md5))) == wrong)
        #expect(try Self.refusal(Self.signed(params: Self.params(md5: Self.emptyMD5.uppercased()))) == wrong)
        #expect(try Self.refusal(Self.signed(params: Self.params(md5: nil))) == nil)
    }

    @Test("a body_md5 sent on GET (Python) is part of the signed params")
    func bodyMD5IsSigned() throws {
        var request = Self.signed(params: Self.params(md5: nil))
        request.query.append((name: "body_md5", value: Self.emptyMD5))
        let error = try #require(try Self.refusal(request))
        #expect(error.description.contains("body_md5=\(Self.emptyMD5)"))
    }

    @Test("auth_version other than 1.0 is refused", arguments: ["2.0", "1", "1.00", ""])
    func authVersion(_ version: String) throws {
        let error = try Self.refusal(Self.signed(params: Self.params(extra: ["auth_version": version])))
        #expect(error?.description == "auth_version must be 1.0")
        #expect(error?.isMalformed == false)
    }

    @Test("auth_timestamp 599 s away either way is accepted; 601 s away is refused", arguments: [-601, -599, 599, 601])
    func timestampWindow(_ offset: Int) throws {
        let error = try Self.refusal(Self.signed(params: Self.params(timestamp: Self.timestamp + offset)))
        if abs(offset) < 600 {
            #expect(error == nil)
        } else {
            #expect(error?.description == "auth_timestamp is more than 600 s away from the server time")
        }
    }

    @Test("a non-numeric auth_timestamp is refused", arguments: ["", "abc", "nan", "inf", "-inf"])
    func timestampGarbage(_ value: String) throws {
        let error = try Self.refusal(Self.signed(params: Self.params(extra: ["auth_timestamp": value])))
        #expect(error?.description.hasPrefix("auth_timestamp") == true)
    }

    @Test("duplicate parameters are malformed (400), even differing in case", arguments: ["auth_key", "AUTH_KEY", "info", "auth_signature"])
    func duplicates(_ name: String) throws {
        var request = Self.signed(params: Self.params(extra: ["info": "user_count"]))
        request.query.append((name: name, value: "x"))
        let error = try #require(try Self.refusal(request))
        #expect(error.isMalformed)
        #expect(error.description == "duplicate parameter \(name)")
    }

    @Test("each missing auth parameter is named", arguments: ["auth_key", "auth_version", "auth_timestamp", "auth_signature"])
    func missing(_ name: String) throws {
        var request = Self.signed()
        request.query.removeAll { $0.name == name }
        #expect(try Self.refusal(request)?.description == "missing \(name)")
    }

    @Test("another app's key is refused")
    func wrongKey() throws {
        let error = try Self.refusal(Self.signed(params: Self.params(extra: ["auth_key": "0000000000aaaaaaaaaa"])))
        #expect(error?.description == "unknown auth_key")
    }

    @Test("upper-case, flipped, truncated or other-secret signatures are refused")
    func tampered() throws {
        let flip: (String) -> String = { String($0.dropLast()) + ($0.last == "0" ? "1" : "0") }
        for transform in [{ $0.uppercased() }, flip, { String($0.dropLast(2)) }, { $0 + "00" }, { _ in "" }] as [(String) -> String] {
            let error = try Self.refusal(Self.signed(signature: transform))
            #expect(error?.description.hasPrefix("invalid auth_signature") == true)
        }
        #expect(try Self.refusal(Self.signed(secret: "another-secret-entirely")) != nil)
        var post = Self.signed()
        post.method = "POST"
        #expect(try Self.refusal(post) != nil, "the method is signed")
        #expect(try Self.refusal(Self.signed(params: Self.params(extra: ["info": "x"])).tampered(name: "info", value: "y")) != nil)
    }

    @Test("during a rotation overlap either secret verifies; a secret past notAfter does not")
    func rotation() throws {
        let retiring = Self.secret("old", "old-secret-0123456789", notAfter: Self.now.addingTimeInterval(60))
        let app = try Self.app([retiring, Self.secret("new", "new-secret-0123456789")])
        #expect(try Self.refusal(Self.signed(secret: "old-secret-0123456789"), app: app) == nil)
        #expect(try Self.refusal(Self.signed(secret: "new-secret-0123456789"), app: app) == nil)
        let later = Self.now.addingTimeInterval(61)
        let expired = Self.signed(params: Self.params(timestamp: Self.timestamp + 61), secret: "old-secret-0123456789")
        #expect(try Self.refusal(expired, app: app, now: later) != nil)
        let current = Self.signed(params: Self.params(timestamp: Self.timestamp + 61), secret: "new-secret-0123456789")
        #expect(try Self.refusal(current, app: app, now: later) == nil)
    }

    @Test("the bad-signature message carries the expected string to sign and never the secret")
    func messages() throws {
        let error = try #require(try Self.refusal(Self.signed(secret: "wrong")))
        let expected = APIRequestSignature.stringToSign(method: "GET", path: "/apps/3/channels", params: Self.params())
        #expect(error.description == "invalid auth_signature; expected HMAC-SHA256 of \(JSON.quoted(expected))")
        #expect(!error.isMalformed)
        for request in [Self.signed(secret: "wrong"), Self.signed(params: Self.params(timestamp: 0)), Self.signed(params: Self.params(md5: "0"))] {
            let text = try #require(try Self.refusal(request)).description
            #expect(!text.contains(Fixtures.secretText))
        }
    }
}

extension APIRequestSignature.Request {
    /// The same request with one query value replaced after signing.
    func tampered(name: String, value: String) -> Self {
        var copy = self
        copy.query = query.map { $0.name == name ? (name: name, value: value) : $0 }
        return copy
    }
}
