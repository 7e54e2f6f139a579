import HTTPTypes

/// One request for a fast-path route (`FastPathHandler`) read straight from a connection's bytes.
///
/// Only the canonical shape is accepted: `POST` to one of the routes in `Route`, `HTTP/1.1`, CRLF line ends, header
/// names made of token characters, values of visible characters, at most one `Content-Length` and no other framing.
/// Anything else — another method, path or version, `Transfer-Encoding`, `Expect`, `Upgrade`, an unknown
/// `Connection` option, obs-fold, a bare LF, control bytes, a head or body over the limits — is `.unsupported`, and
/// the caller hands the bytes, unconsumed, to NIO's llhttp-based parser, which decides them (and answers errors) as
/// for any other route. So this parser never has to get an edge case of HTTP/1.1 right: it only has to recognise
/// the common case.
struct WireRequest {
    /// The routes the fast path answers.
    enum Route: Equatable {
        /// `POST /pusher/auth[?query]`.
        case auth
        /// `POST /relay/v1/apps/{app}/subscriptions`.
        case relaySubscribe(app: String)
        /// `POST /relay/v1/nodes/{node}/batch`.
        case relayBatch(node: String)

        /// The route's pattern, as the router labels its metrics.
        var pattern: String {
            switch self {
            case .auth: "/pusher/auth"
            case .relaySubscribe: "/relay/v1/apps/{app}/subscriptions"
            case .relayBatch: "/relay/v1/nodes/{node}/batch"
            }
        }
    }

    var route: Route
    /// The request target, e.g. `/pusher/auth?app_key=k`.
    var target: String
    var fields: HTTPFields
    /// `fields[.authorization]` and `fields[.origin]`, read while parsing (the answer needs both).
    var authorization: String?
    var origin: String?
    var body: [UInt8]
    /// The client sent `Connection: close`.
    var close: Bool
    /// Bytes of head and body together.
    var length: Int

    struct Limits {
        var maxHeadBytes = 8192
        var maxFields = 64
        /// The body limit of auth and single relay calls.
        var maxBodyBytes: Int
        /// The body limit of a relay batch.
        var maxBatchBytes = RelayController.maxBatchBytes

        func maxBody(for route: Route) -> Int {
            if case .relayBatch = route { maxBatchBytes } else { maxBodyBytes }
        }
    }

    enum Outcome {
        /// A prefix of an acceptable request: wait for more bytes; `length` is the whole request's once its head is
        /// complete (so the caller need not parse again before that many bytes are in).
        case incomplete(length: Int?)
        /// Not the canonical shape: let the general HTTP/1.1 parser have it.
        case unsupported
        case request(WireRequest)
    }

    private static let requestLinePrefix = Array("POST /".utf8)
    private static let version = Array(" HTTP/1.1\r\n".utf8)
    private static let crlf = Array("\r\n".utf8)
    private static let host = HTTPField.Name("Host")!
    /// llhttp honours it like `Connection`.
    private static let proxyConnection = HTTPField.Name("Proxy-Connection")!

    static func parse(_ bytes: UnsafeRawBufferPointer, limits: Limits) -> Outcome {
        var cursor = Cursor(bytes: bytes)
        // Request line.
        guard let isPost = cursor.expect(requestLinePrefix) else { return .incomplete(length: nil) }
        guard isPost else { return .unsupported }
        let targetStart = cursor.offset - 1
        while let byte = cursor.peek(), byte != UInt8(ascii: " ") {
            // Visible ASCII only (no "#", which never reaches a server), and no longer than any route.
            guard (0x21...0x7E).contains(byte), byte != UInt8(ascii: "#"), cursor.offset <= limits.maxHeadBytes else { return .unsupported }
            cursor.offset += 1
        }
        guard cursor.peek() != nil else { return .incomplete(length: nil) }
        let targetBytes = UnsafeRawBufferPointer(rebasing: bytes[targetStart..<cursor.offset])
        guard let route = Route(target: targetBytes) else { return .unsupported }
        let target = String(decoding: targetBytes, as: UTF8.self)
        guard let isVersion = cursor.expect(version) else { return .incomplete(length: nil) }
        guard isVersion else { return .unsupported }
        // Header fields, up to the empty line.
        var fields = HTTPFields()
        var contentLength: Int?
        var close = false
        var sawHost = false
        var authorization: (value: String, count: Int)?
        var origin: (value: String, count: Int)?
        while true {
            guard cursor.offset <= limits.maxHeadBytes, fields.count < limits.maxFields else { return .unsupported }
            guard let first = cursor.peek() else { return .incomplete(length: nil) }
            if first == UInt8(ascii: "\r") {
                guard let isEnd = cursor.expect(crlf) else { return .incomplete(length: nil) }
                guard isEnd else { return .unsupported }
                break  // the empty line: the head is complete
            }
            let nameStart = cursor.offset
            while let byte = cursor.peek(), byte != UInt8(ascii: ":") {
                guard Self.isTokenCharacter(byte) else { return .unsupported }  // also refuses obs-fold and bare LF
                cursor.offset += 1
            }
            guard cursor.peek() != nil else { return cursor.offset > limits.maxHeadBytes ? .unsupported : .incomplete(length: nil) }
            guard cursor.offset > nameStart else { return .unsupported }
            let nameEnd = cursor.offset
            cursor.offset += 1  // ":"
            cursor.skipWhitespace()
            let valueStart = cursor.offset
            var valueEnd = valueStart
            while let byte = cursor.peek(), byte != UInt8(ascii: "\r") {
                guard byte == UInt8(ascii: "\t") || (0x20...0x7E).contains(byte) || byte >= 0x80 else { return .unsupported }
                cursor.offset += 1
                if byte != UInt8(ascii: " "), byte != UInt8(ascii: "\t") { valueEnd = cursor.offset }
            }
            guard let isLineEnd = cursor.expect(crlf) else { return cursor.offset > limits.maxHeadBytes ? .unsupported : .incomplete(length: nil) }
            guard isLineEnd else { return .unsupported }
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[nameStart..<nameEnd])
            let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
            // Stored as llhttp hands it to the router (leading whitespace dropped, trailing kept), through the same
            // `HTTPField` initialiser as NIO's HTTPTypes conversion, so both paths see identical fields.
            let rawValue = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<(cursor.offset - 2)])
            guard let name = HTTPField.Name(String(decoding: nameBytes, as: UTF8.self)) else { return .unsupported }
            switch name {
            // Framing and connection fields: no trailing whitespace (llhttp refuses a tab after a length).
            case .contentLength:
                guard contentLength == nil, rawValue.count == value.count, let length = Self.decimal(value) else { return .unsupported }
                contentLength = length
            case .connection:
                guard rawValue.count == value.count, let closes = Self.connectionCloses(value) else { return .unsupported }
                close = close || closes
            case .transferEncoding, .expect, .upgrade, Self.proxyConnection:
                return .unsupported
            case Self.host where !sawHost:
                // NIO's HTTPTypes conversion turns the first into the authority, so the router never sees it either.
                sawHost = true
                continue
            default:
                break
            }
            let field = HTTPField(name: name, value: rawValue)
            fields.append(field)
            switch name {
            case .authorization: authorization = (field.value, (authorization?.count ?? 0) + 1)
            case .origin: origin = (field.value, (origin?.count ?? 0) + 1)
            default: break
            }
        }
        let length = contentLength ?? 0
        guard length <= limits.maxBody(for: route) else { return .unsupported }
        guard bytes.count - cursor.offset >= length else { return .incomplete(length: cursor.offset + length) }
        let body = Array(UnsafeRawBufferPointer(rebasing: bytes[cursor.offset..<(cursor.offset + length)]))
        // A repeated field's value is every line's, combined as `HTTPFields` combines them.
        return .request(
            WireRequest(
                route: route, target: target, fields: fields,
                authorization: authorization.flatMap { $0.count == 1 ? $0.value : fields[.authorization] },
                origin: origin.flatMap { $0.count == 1 ? $0.value : fields[.origin] },
                body: body, close: close, length: cursor.offset + length))
    }

    /// RFC 9110 `tchar`.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// 1–9 digits, nothing else (a larger length is over any body limit anyway).
    private static func decimal(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard (1...9).contains(bytes.count) else { return nil }
        var value = 0
        for byte in bytes {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// Whether the `Connection` options ask to close; nil for any option other than `close` and `keep-alive`.
    private static func connectionCloses(_ bytes: UnsafeRawBufferPointer) -> Bool? {
        var closes = false
        for option in bytes.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            let token = String(decoding: option, as: UTF8.self).trimmingASCIIWhitespace().lowercased()
            switch token {
            case "close": closes = true
            case "keep-alive": break
            default: return nil
            }
        }
        return closes
    }

    private struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        func peek() -> UInt8? { offset < bytes.count ? bytes[offset] : nil }

        /// true when `expected` follows (and is consumed), false when something else does, nil when the bytes end first.
        mutating func expect(_ expected: [UInt8]) -> Bool? {
            for (index, byte) in expected.enumerated() {
                guard offset + index < bytes.count else { return nil }
                guard bytes[offset + index] == byte else { return false }
            }
            offset += expected.count
            return true
        }

        mutating func skipWhitespace() {
            while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { offset += 1 }
        }
    }
}

extension WireRequest.Route {
    private static let authPath = Array("/pusher/auth".utf8)
    private static let apps = Array("/relay/v1/apps/".utf8)
    private static let subscriptions = Array("/subscriptions".utf8)
    private static let nodes = Array("/relay/v1/nodes/".utf8)
    private static let batch = Array("/batch".utf8)

    /// The route of a request target; nil for every other target. A query is allowed on `/pusher/auth` only, and a
    /// path parameter must be plain — letters, digits, `-`, `_`, `.`, `~`, and not `.` or `..` — so that the
    /// router would read the same value.
    init?(target: UnsafeRawBufferPointer) {
        if target.starts(with: Self.authPath), target.count == Self.authPath.count || target[Self.authPath.count] == UInt8(ascii: "?") {
            self = .auth
        } else if let app = Self.parameter(of: target, between: Self.apps, and: Self.subscriptions) {
            self = .relaySubscribe(app: app)
        } else if let node = Self.parameter(of: target, between: Self.nodes, and: Self.batch) {
            self = .relayBatch(node: node)
        } else {
            return nil
        }
    }

    private static func parameter(of target: UnsafeRawBufferPointer, between prefix: [UInt8], and suffix: [UInt8]) -> String? {
        guard target.count > prefix.count + suffix.count, target.starts(with: prefix), target.reversed().starts(with: suffix.reversed()) else {
            return nil
        }
        let parameter = UnsafeRawBufferPointer(rebasing: target[prefix.count..<(target.count - suffix.count)])
        guard !parameter.allSatisfy({ $0 == UInt8(ascii: ".") }) else { return nil }
        for byte in parameter {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                continue
            default:
                return nil
            }
        }
        return String(decoding: parameter, as: UTF8.self)
    }
}

extension String {
    fileprivate func trimmingASCIIWhitespace() -> Substring {
        let isSpace = { (c: Character) in c == " " || c == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return self[start...end]
    }
}
