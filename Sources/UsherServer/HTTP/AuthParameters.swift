import UsherCrypto

/// The fields of an auth request: `application/x-www-form-urlencoded` (what pusher-js sends, and the default when no
/// content type is given, as pusher-websocket-swift does) or a flat JSON object of strings.
struct AuthParameters: Sendable {
    private(set) var values: [String: String] = [:]

    subscript(name: String) -> String? { values[name] }

    /// Parses `body` as the content type says. Duplicate fields are refused: two `channel_name`s are ambiguous.
    init(body: [UInt8], contentType: String?) throws(ServerError) {
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
        for pair in form.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try Self.percentDecode(parts[0])
            let value = parts.count > 1 ? try Self.percentDecode(parts[1]) : ""
            try add(name, value)
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
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex,
                    let decoded = Hex.decode(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self))
                else { throw .malformedRequest("invalid percent-encoding") }
                out.append(decoded[0])
                index += 3
            } else {
                out.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw .malformedRequest("invalid UTF-8") }
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
