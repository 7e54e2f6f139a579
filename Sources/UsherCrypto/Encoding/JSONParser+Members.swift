/// The member-wise readers behind ``JSONValue/parseMembers(buffer:)`` and
/// ``JSONValue/forEachElement(ofArray:in:_:)``: the outer object (and the array of objects) are read member by member,
/// the values inside them as trees by `parseValue`, with the same rules and the same depth limit as `parseDocument`.
extension JSONParser {
    mutating func parseMembersDocument(keepingCompact name: String?) throws -> (members: JSONMembers, compact: String?)? {
        guard try startsWithObject() else { return nil }
        var members = JSONMembers()
        let compact = try parseObject(into: &members, keepingCompact: name)
        try finishDocument()
        return (members, compact)
    }

    /// Reads a document that must be an object, handing each element of its array member `name` to `element`, which
    /// reads it (whatever value it is) from `parser`'s position, with its index.
    mutating func parseElementsDocument(ofArray name: String, _ element: (inout JSONParser, Int) throws -> Void) throws -> Bool {
        guard try startsWithObject() else { return false }
        // The root's names only, to refuse a repeated one (the values are read and dropped, or passed to `body`).
        var names = JSONMembers()
        var seen = Set<String>()
        var found = false
        try open()
        if try peekSignificant() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                let member = try parseName()
                guard names.append(name: member, value: .null, seen: &seen) else { throw failure("duplicate member name") }
                if member == name, try peekSignificant() == UInt8(ascii: "[") {
                    found = true
                    try parseElements(element)
                } else {
                    _ = try parseValue()
                }
                if try closes(UInt8(ascii: "}")) { break }
            }
        }
        openDepth -= 1
        try finishDocument()
        return found
    }

    /// Whether the document's value is an object (left unread); any other value is read and the document finished.
    mutating func startsWithObject() throws -> Bool {
        skipByteOrderMark()
        if try peekSignificant() == UInt8(ascii: "{") { return true }
        _ = try parseValue()
        try finishDocument()
        return false
    }

    /// Reads the array at `index`, handing each element to `element` to read.
    private mutating func parseElements(_ element: (inout JSONParser, Int) throws -> Void) throws {
        try open()
        defer { openDepth -= 1 }
        if try peekSignificant() == UInt8(ascii: "]") {
            index += 1
            return
        }
        var position = 0
        while true {
            try element(&self, position)
            position += 1
            if try closes(UInt8(ascii: "]")) { return }
        }
    }

    /// Reads the object at `index` into `members` (emptied first), refusing a repeated name; the member named
    /// `compactName`, when its value is an object in compact form, is listed as `.null` and its text returned.
    @discardableResult
    private mutating func parseObject(into members: inout JSONMembers, keepingCompact compactName: String? = nil) throws -> String? {
        members.removeAll()
        var seen = Set<String>()
        var compact: String?
        try open()
        defer { openDepth -= 1 }
        if try peekSignificant() == UInt8(ascii: "}") {
            index += 1
            return nil
        }
        while true {
            let name = try parseName()
            let value: JSONValue
            if name == compactName, try peekSignificant() == UInt8(ascii: "{"), let text = compactObjectText() {
                compact = text
                value = .null
            } else {
                value = try parseValue()
            }
            guard members.append(name: name, value: value, seen: &seen) else { throw failure("duplicate member name") }
            if try closes(UInt8(ascii: "}")) { return compact }
        }
    }

    /// The text of the object at `index` when it is already in the form `jsonText` writes, advancing past it; nil
    /// (and `index` unchanged) otherwise. Only a subset is recognised — ASCII strings without escapes, integers of up
    /// to 18 digits, no whitespace, at most ``CompactScanner/maxDepth`` levels — which is the form clients send.
    mutating func compactObjectText() -> String? {
        var scanner = CompactScanner(bytes: bytes, index: index)
        guard scanner.object(depth: 0) else { return nil }
        defer { index = scanner.index }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<scanner.index]), as: UTF8.self)
    }

    /// Steps into the array or object at `index`, counting it towards the depth limit.
    mutating func open() throws {
        guard openDepth < Self.maxDepth else { throw failure("nesting deeper than \(Self.maxDepth)") }
        openDepth += 1
        index += 1
    }

    /// After an element: true past the container's `closing` bracket, false past a comma.
    mutating func closes(_ closing: UInt8) throws -> Bool {
        switch try peekSignificant() {
        case UInt8(ascii: ","):
            index += 1
            return false
        case closing:
            index += 1
            return true
        default:
            throw failure(closing == UInt8(ascii: "}") ? "expected ',' or '}'" : "expected ',' or ']'")
        }
    }
}

/// Recognises JSON values already written as ``JSONValue/jsonText`` writes them, where the text is its own compact
/// form: every object's names in strictly increasing byte order (code-point order, for ASCII; strictly, so repeated
/// names fall outside), no whitespace, strings of printable ASCII without escapes, integers without a sign of zero,
/// leading zeros, fraction or exponent and short enough for `Int64`, `true`, `false`, `null`. Anything else — valid
/// JSON or not — is simply not recognised, and the caller parses it the general way.
struct CompactScanner {
    static let maxDepth = 32
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int

    mutating func object(depth: Int) -> Bool {
        guard depth < Self.maxDepth, next(is: UInt8(ascii: "{")) else { return false }
        if next(is: UInt8(ascii: "}")) { return true }
        var previous: Range<Int>?
        while true {
            guard let name = string() else { return false }
            if let previous, !bytes[previous].lexicographicallyPrecedes(bytes[name]) { return false }
            previous = name
            guard next(is: UInt8(ascii: ":")), value(depth: depth + 1) else { return false }
            if next(is: UInt8(ascii: ",")) { continue }
            return next(is: UInt8(ascii: "}"))
        }
    }

    private mutating func array(depth: Int) -> Bool {
        guard depth < Self.maxDepth, next(is: UInt8(ascii: "[")) else { return false }
        if next(is: UInt8(ascii: "]")) { return true }
        while true {
            guard value(depth: depth + 1) else { return false }
            if next(is: UInt8(ascii: ",")) { continue }
            return next(is: UInt8(ascii: "]"))
        }
    }

    private mutating func value(depth: Int) -> Bool {
        guard index < bytes.count else { return false }
        switch bytes[index] {
        case UInt8(ascii: "{"): return object(depth: depth)
        case UInt8(ascii: "["): return array(depth: depth)
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return integer()
        default: return false
        }
    }

    /// A string of printable ASCII without escapes at `index`; returns the range of its content.
    private mutating func string() -> Range<Int>? {
        guard next(is: UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return start..<index - 1
            }
            guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else { return nil }
            index += 1
        }
        return nil
    }

    /// An integer as `String(Int64)` writes it: no `-0`, no leading zero, at most 18 digits (always within `Int64`),
    /// not followed by a fraction or an exponent.
    private mutating func integer() -> Bool {
        var end = index
        if bytes[end] == UInt8(ascii: "-") { end += 1 }
        let digits = end
        while end < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[end]) { end += 1 }
        let count = end - digits
        guard (1...18).contains(count) else { return false }
        if bytes[digits] == UInt8(ascii: "0"), count > 1 || digits > index { return false }
        if end < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[end]) { return false }
        index = end
        return true
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let length = word.utf8CodeUnitCount
        guard bytes.count - index >= length,
            UnsafeBufferPointer(start: word.utf8Start, count: length).elementsEqual(bytes[index..<index + length])
        else { return false }
        index += length
        return true
    }

    private mutating func next(is byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }
}
