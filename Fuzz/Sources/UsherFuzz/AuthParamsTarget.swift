import Foundation
@_spi(Fuzzing) import UsherCore
@_spi(Fuzzing) import UsherCrypto
@_spi(Fuzzing) import UsherServer

/// The auth endpoint's parameters: `AuthParameters` (form or JSON by content type) and `FormEncoding.decode`, each
/// against a reference written here, then the whole `POST /pusher/auth` (`AuthController.channelAuth`).
///
/// Input: byte 0 picks the content type, byte 1 the extra header fields (a valid identity token, a cookie, an
/// `app_key` query); the rest is the body. Properties: both parsers agree with the references; a 200 answer carries
/// an auth string that verifies for the request's socket and channel with one of the apps' secrets, and for
/// presence a channel_data that parses within the app's limits; nothing answers 500.
enum AuthParamsTarget {
    /// The content types tried, with what each should parse as (nil: refused).
    static let contentTypes: [(type: String?, parsesAs: Kind?)] = [
        (nil, .form), ("application/x-www-form-urlencoded", .form), ("application/json", .json), ("text/plain", .form),
        ("application/json; charset=utf-8", .json), (" Application/X-WWW-Form-Urlencoded ; charset=utf-8", .form), ("text/html", nil),
        ("application/jsonx", nil),
    ]

    enum Kind { case form, json }

    /// A valid identity token for app `fuzz` (HS256, no expiry problem until 2100), with a team claim and user_info.
    static let identityToken: String = {
        let header = Base64.urlEncode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = Base64.urlEncode(Array(#"{"sub":"fuzz-user","exp":4102444800,"team":"blue","user_info":{"name":"Fuzz"}}"#.utf8))
        let signature = HMACKey(secret: ServerFuzzing.Fixture.identitySecret).mac(Array("\(header).\(payload)".utf8))
        return "\(header).\(payload).\(Base64.urlEncode(signature))"
    }()

    static func run(_ data: UnsafeRawBufferPointer) {
        var reader = FuzzReader(data)
        let (contentType, kind) = contentTypes[Int(reader.byte()) % contentTypes.count]
        let extras = reader.byte()
        let body = Array(reader.rest)

        // The parameters, against the references.
        let parsed = ServerFuzzing.authParameters(body: body, contentType: contentType)
        let expected: [String: String]? = switch kind {
        case .form?: referenceForm(body)
        case .json?: referenceJSON(body)
        case nil: nil
        }
        check(parsed == expected, "AuthParameters read \(String(describing: parsed)), the reference \(String(describing: expected)) from \(show(body))")
        check(FormEncoding.decode(body) == referenceFormDecode(body), "FormEncoding.decode disagrees with the reference on \(show(body))")
        if let parsed, kind == .form {
            // Re-encoded carefully, the same parameters come back.
            let encoded = parsed.map { percentEncode($0.key) + "=" + percentEncode($0.value) }.joined(separator: "&")
            let again = ServerFuzzing.authParameters(body: Array(encoded.utf8), contentType: contentType)
            check(again == parsed, "re-encoded parameters read back as \(String(describing: again))")
        }

        // The whole endpoint.
        var headers: [ServerFuzzing.Field] = []
        if extras & 1 != 0 { headers.append(.init(name: "Authorization", value: "Bearer " + identityToken)) }
        if extras & 2 != 0 { headers.append(.init(name: "Cookie", value: "\(ServerFuzzing.Fixture.identityCookie)=\(identityToken)")) }
        let query = extras & 4 != 0 ? "/pusher/auth?app_key=\(ServerFuzzing.Fixture.appKey)" : "/pusher/auth"
        let answer = fixture.channelAuth(body: body, contentType: contentType, query: query, headers: headers)
        check(answer.status != 500, "/pusher/auth answered 500: \(answer.body)")
        guard let members = jsonObject(answer.body) else { fail("/pusher/auth answered no JSON object: \(answer.body)") }
        guard answer.status == 200 else {
            check(members["error"]?.stringValue != nil, "a refusal without an error message: \(answer.body)")
            return
        }
        guard let parsed, let socket = parsed["socket_id"], let channelText = parsed["channel_name"],
            let socketID = try? SocketID(validating: socket), let channel = try? ChannelName(validating: channelText)
        else { fail("200 without a valid socket_id and channel_name in \(String(describing: parsed))") }
        check(channel.requiresAuthorization, "200 for a channel that needs no auth: \(channel)")
        guard let auth = members["auth"]?.stringValue else { fail("200 without auth: \(answer.body)") }
        let channelData = members["channel_data"]?.stringValue
        check((channelData != nil) == (channel.kind == .presence), "channel_data present for a \(channel.kind) channel: \(answer.body)")
        let verifiers = [
            ChannelAuthVerifier(appKey: ServerFuzzing.Fixture.appKey, secrets: [HMACKey(secret: ServerFuzzing.Fixture.appSecret)]),
            ChannelAuthVerifier(appKey: ServerFuzzing.Fixture.devAppKey, secrets: [HMACKey(secret: ServerFuzzing.Fixture.devAppSecret)]),
        ]
        check(
            verifiers.contains { $0.verify(auth: auth, socketID: socketID, channel: channel, channelData: channelData) },
            "the auth string does not verify: \(answer.body)")
        if let channelData {
            guard let member = try? ChannelData.parse(channelData) else { fail("the answer's channel_data does not parse: \(channelData)") }
            check(!member.userID.isEmpty, "empty user id in \(channelData)")
        }
        if channel.kind == .privateEncrypted {
            check(members["shared_secret"]?.stringValue.flatMap { Base64.decode($0) }?.count == 32, "no 32-byte shared_secret: \(answer.body)")
        }
    }

    /// Form parameters: `&`-separated pairs, empty ones skipped, split at the first `=`, both sides decoded by the
    /// reference decoder; a repeated name or an undecodable part refuses the whole body.
    static func referenceForm(_ body: [UInt8]) -> [String: String]? {
        var values: [String: String] = [:]
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = referenceFormDecode(parts[0]), let value = parts.count > 1 ? referenceFormDecode(parts[1]) : "" else { return nil }
            guard values.updateValue(value, forKey: name) == nil else { return nil }
        }
        return values
    }

    /// A flat JSON object whose values are strings or integers (as their decimal text).
    static func referenceJSON(_ body: [UInt8]) -> [String: String]? {
        guard case .object(let members)? = try? JSONValue.parse(bytes: body) else { return nil }
        var values: [String: String] = [:]
        for (name, value) in members {
            switch value {
            case .string(let text): values[name] = text
            case .integer(let number): values[name] = String(number)
            default: return nil
            }
        }
        return values
    }
}
