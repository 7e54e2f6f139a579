import UsherCore
import UsherCrypto

/// The fields of an auth request: `application/x-www-form-urlencoded` (what pusher-js sends, and the default when no
/// content type is given, as pusher-websocket-swift does) or a flat JSON object of strings.
struct AuthParameters: Sendable {
    private(set) var values: [String: String] = [:]

    subscript(name: String) -> String? { values[name] }

    /// Parses `body` as the content type says. Duplicate fields are refused: two `channel_name`s are ambiguous.
    init(body: [UInt8], contentType: String?) throws(ServerError) {
        // What pusher-js sends is matched before any splitting or lowercasing.
        if contentType == "application/x-www-form-urlencoded" {
            try self.init(form: body[...])
            return
        }
        let mediaType = contentType?.split(separator: ";").first.map { $0.trimmingSpaces.lowercased() }
        switch mediaType {
        case "application/json":
            try self.init(json: body)
        case nil, "application/x-www-form-urlencoded", "text/plain":
            try self.init(form: body[...])
        default:
            throw .malformedRequest("unsupported content type; send application/x-www-form-urlencoded or application/json")
        }
    }

    init(form: ArraySlice<UInt8>) throws(ServerError) {
        // One pass over the bytes, no intermediate arrays: `name=value` pairs between `&`s, empty pairs skipped.
        var start = form.startIndex
        while start < form.endIndex {
            let end = form[start...].firstIndex(of: UInt8(ascii: "&")) ?? form.endIndex
            if end > start {
                let pair = form[start..<end]
                if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                    try add(try Self.percentDecode(pair[..<equals]), try Self.percentDecode(pair[(equals + 1)...]))
                } else {
                    try add(try Self.percentDecode(pair), "")
                }
            }
            start = end + 1
        }
    }

    private init(json: [UInt8]) throws(ServerError) {
        guard case .object(let members)? = try? JSONValue.parse(bytes: json) else {
            throw .malformedRequest("the body is not a JSON object")
        }
        for (name, value) in members {
            switch value {
            case .string(let text): values[name] = text
            case .integer(let number): values[name] = String(number)
            default: throw .malformedRequest("field \(name) must be a string")
            }
        }
    }

    private mutating func add(_ name: String, _ value: String) throws(ServerError) {
        guard values.updateValue(value, forKey: name) == nil else { throw .malformedRequest("duplicate field \(name)") }
    }

    /// Decodes `+` and `%XX`; refuses broken escapes and invalid UTF-8 instead of guessing.
    static func percentDecode(_ bytes: ArraySlice<UInt8>) throws(ServerError) -> String {
        guard let text = FormEncoding.decode(bytes) else { throw .malformedRequest("invalid percent-encoding or UTF-8") }
        return text
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}
