/// A JSON value: the model for JWT claims, presence `user_info` and policy inputs.
///
/// Integers and doubles are kept apart so a numeric presence `user_id` keeps its JSON text (`10`, not `10.0`).
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses JSON text: exactly one RFC 8259 value, with no trailing commas and no duplicate member names.
    ///
    /// ```swift
    /// let claims = try JSONValue.parse(#"{"sub":"42","exp":1700000000}"#)
    /// ```
    ///
    /// - Throws: `DecodingError.dataCorrupted` for anything else; the message gives a byte offset, never the input.
    public static func parse(_ text: some StringProtocol) throws -> JSONValue {
        if let value = try text.utf8.withContiguousStorageIfAvailable({ try parse(buffer: UnsafeRawBufferPointer($0)) }) {
            return value
        }
        return try parse(bytes: Array(text.utf8))
    }

    /// Parses UTF-8 JSON bytes, as ``parse(_:)`` does.
    public static func parse(bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBytes { try parse(buffer: $0) }
    }

    /// Parses UTF-8 JSON bytes from any collection (an `ArraySlice`, `Data`, a NIO `ByteBufferView`), as ``parse(_:)``
    /// does; contiguous storage is read in place.
    public static func parse(bytes: some Collection<UInt8>) throws -> JSONValue {
        if let value = try bytes.withContiguousStorageIfAvailable({ try parse(buffer: UnsafeRawBufferPointer($0)) }) {
            return value
        }
        return try parse(bytes: Array(bytes))
    }

    /// Parses UTF-8 JSON bytes in place, as ``parse(_:)`` does: the entry point for a NIO `ByteBuffer`
    /// (`try buffer.withUnsafeReadableBytes { try JSONValue.parse(buffer: $0) }`).
    ///
    /// Rules beyond RFC 8259: a leading UTF-8 byte order mark is skipped; other encodings are refused; at most 512
    /// arrays and objects may nest; member names that are canonically equivalent strings count as duplicates.
    /// A number is `.integer` when its value is integral and fits `Int64` (`10`, `10.0`, `1e1`; from 2⁵³ up, a
    /// fraction is truncated, as `JSONDecoder` did), `.double` otherwise, and refused beyond `Double`'s range.
    public static func parse(buffer: UnsafeRawBufferPointer) throws -> JSONValue {
        try buffer.withMemoryRebound(to: UInt8.self) { bytes in
            var parser = JSONParser(bytes: bytes)
            return try parser.parseDocument()
        }
    }

    /// Decodes through any `Decoder` (the `Codable` path, not ``parse(_:)``): tries each kind in turn, integers before
    /// doubles, so integral numbers stay integers.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            // An integral Double within Int64 whose text the decoder would not take as an Int64 (from 2⁵³ up, more
            // digits than 64 bits hold: `9999999999999999.9999`) is its integer, as in `parse`: `.double(1e16)`
            // would be written `1e+16` and read back as an integer.
            self = Int64(exactly: value).map(JSONValue.integer) ?? .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// An object's member, or `nil` for a missing member or a non-object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The string, when this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// Compact JSON text with sorted keys: deterministic, so it can be signed and sent as is.
    public var jsonText: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .integer(let value): out += String(value)
        case .double(let value): out += value.isFinite ? "\(value)" : "null"
        case .string(let value): JSON.appendQuoted(value, to: &out)
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            // Code-point order, as Python's json.dumps(sort_keys=True); Swift's String order normalizes first.
            let keys = members.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            for (index, key) in keys.enumerated() {
                if index > 0 { out += "," }
                JSON.appendQuoted(key, to: &out)
                out += ":"
                members[key]!.write(to: &out)
            }
            out += "}"
        }
    }
}

/// Hand-built JSON fragments for bodies that are signed or sent on hot paths.
public enum JSON {
    /// `text` as a JSON string literal: quotes, backslashes and control characters escaped, `/` and non-ASCII kept.
    public static func quoted(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 2)
        appendQuoted(text, to: &out)
        return out
    }

    /// Appends `text` as a JSON string literal to `out` (what ``quoted(_:)`` returns, without a string of its own).
    public static func appendQuoted(_ text: String, to out: inout String) {
        // Auth strings, ids and channel names never need escaping: one scan, appended as they are.
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            out += "\""
            out += text
            out += "\""
            return
        }
        var escaped = [UInt8]()
        escaped.reserveCapacity(text.utf8.count + 8)
        escaped.append(UInt8(ascii: "\""))
        // Escapes are all ASCII, and UTF-8 continuation bytes are never below 0x80, so bytes can be copied as they are.
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): escaped += [UInt8(ascii: "\\"), byte]
            case UInt8(ascii: "\\"): escaped += [UInt8(ascii: "\\"), byte]
            case UInt8(ascii: "\n"): escaped += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): escaped += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): escaped += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x08: escaped += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: escaped += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case ..<0x20:
                let digits = Array("0123456789abcdef".utf8)
                escaped += Array("\\u00".utf8) + [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
            default: escaped.append(byte)
            }
        }
        escaped.append(UInt8(ascii: "\""))
        out += String(decoding: escaped, as: UTF8.self)
    }
}
