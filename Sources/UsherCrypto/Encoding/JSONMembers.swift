/// One JSON object's members in document order, for readers that look up a few names once each (a relay op, a
/// presence `channel_data`): no dictionary, so no hashing; the parser has already refused repeated names.
///
/// ```swift
/// guard let members = try JSONValue.parseMembers(#"{"user_id":"42","user_info":{"name":"Ann"}}"#) else { … }
/// let userID = members["user_id"]?.stringValue
/// ```
public struct JSONMembers: Sendable {
    /// Objects with more members than this check repeated names with a set instead of comparing each with every
    /// earlier one.
    static let linearLimit = 16

    public private(set) var members: [(name: String, value: JSONValue)] = []

    public init() {}

    /// The members of an object value (in the dictionary's order).
    public init(_ object: [String: JSONValue]) {
        members = object.map { ($0.key, $0.value) }
    }

    /// The number of members.
    public var count: Int { members.count }

    /// The member named `name`: names compare as Swift strings do, as a dictionary's keys would.
    public subscript(name: String) -> JSONValue? {
        for member in members where member.name == name { return member.value }
        return nil
    }

    /// Adds a member; false (and nothing added) when the name is already there. Past `linearLimit` members `seen`
    /// holds every name, so large objects cost one hash per member, not a comparison with every earlier name.
    mutating func append(name: String, value: JSONValue, seen: inout Set<String>) -> Bool {
        if members.count < Self.linearLimit {
            guard !members.contains(where: { $0.name == name }) else { return false }
        } else {
            if members.count == Self.linearLimit { seen = Set(members.lazy.map(\.name)) }
            guard seen.insert(name).inserted else { return false }
        }
        members.append((name, value))
        return true
    }

    /// Empties the list for the next object, keeping its storage.
    mutating func removeAll() {
        members.removeAll(keepingCapacity: true)
    }
}

extension JSONValue {
    /// Parses JSON text as ``parse(_:)`` does, answering an object's members as a list rather than a dictionary:
    /// nil when the text is valid JSON but not an object.
    ///
    /// - Throws: `DecodingError.dataCorrupted` for text that is not JSON, as ``parse(_:)``.
    public static func parseMembers(_ text: String) throws -> JSONMembers? {
        var text = text
        return try text.withUTF8 { try parseMembers(buffer: UnsafeRawBufferPointer($0)) }
    }

    /// Parses UTF-8 JSON bytes as ``parseMembers(_:)`` does.
    public static func parseMembers(buffer: UnsafeRawBufferPointer) throws -> JSONMembers? {
        try parseMembers(buffer: buffer, keepingCompact: nil)?.members
    }

    /// Parses JSON text as ``parseMembers(_:)`` does, except for the member `name` (if any) when its value is an object already
    /// written exactly as ``jsonText`` would write it (no whitespace, names in increasing order, ASCII strings without
    /// escapes, integers in their shortest form, at most 32 levels): that value is not parsed into a tree but returned
    /// as its text in `compact`, and listed in `members` as `.null`. A presence member's user_info is kept as that
    /// text, which clients almost always send in this form already.
    ///
    /// - Returns: nil when the text is JSON but not an object.
    /// - Throws: `DecodingError.dataCorrupted` for text that is not JSON, as ``parse(_:)``.
    public static func parseMembers(_ text: String, keepingCompact name: String?) throws -> (members: JSONMembers, compact: String?)? {
        var text = text
        return try text.withUTF8 { try parseMembers(buffer: UnsafeRawBufferPointer($0), keepingCompact: name) }
    }

    /// ``parseMembers(_:keepingCompact:)`` on UTF-8 bytes.
    public static func parseMembers(buffer: UnsafeRawBufferPointer, keepingCompact name: String?) throws -> (members: JSONMembers, compact: String?)? {
        try buffer.withMemoryRebound(to: UInt8.self) { bytes in
            var parser = JSONParser(bytes: bytes)
            return try parser.parseMembersDocument(keepingCompact: name)
        }
    }
}
