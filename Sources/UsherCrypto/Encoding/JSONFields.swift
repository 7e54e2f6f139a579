/// The names a ``JSONFields`` reader looks for, in slot order: ASCII, at most 64.
public struct JSONFieldTable: Sendable {
    let names: [String]
    /// Every name's bytes back to back, and where each one is: a document's plain ASCII names are matched on bytes.
    private let flat: [UInt8]
    private let spans: [Range<Int>]

    public init(_ names: [String]) {
        precondition(names.count <= 64 && names.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } }, "at most 64 ASCII names")
        self.names = names
        flat = names.flatMap(\.utf8)
        var start = 0
        spans = names.map { name in
            defer { start += name.utf8.count }
            return start..<start + name.utf8.count
        }
    }

    /// The slot of a name written in the document as plain ASCII (no escapes), nil for a name the table does not
    /// list. For ASCII, equal bytes are exactly equal strings.
    func slot(ofASCII name: UnsafeBufferPointer<UInt8>) -> Int? {
        flat.withUnsafeBufferPointer { flat in
            spans.firstIndex { $0.count == name.count && UnsafeBufferPointer(rebasing: flat[$0]).elementsEqual(name) }
        }
    }

    /// The slot of any other name: names compare as Swift strings do (canonically equivalent spellings are the same
    /// name), as dictionary keys would.
    func slot(of name: String) -> Int? {
        names.firstIndex(of: name)
    }
}

/// One JSON object read for the names of a ``JSONFieldTable``: each listed member's value, a string as its bytes
/// (unescaped and validated, all of them in one buffer) and anything else as a ``JSONValue``. Members with other names
/// are checked as JSON and skipped; a repeated name is refused, as everywhere else.
///
/// For readers of small request objects (a relay op, a relay call's body): one buffer for all of an object's
/// strings, instead of a `String` per name and value and a list of members searched by name.
///
/// ```swift
/// let table = JSONFieldTable(["socket_id", "channel"])
/// guard let fields = try JSONValue.parseFields(buffer: body, table: table) else { … }  // nil: not an object
/// let socketID = fields.string(at: 0)   // .some(.some("1.2")), .some(nil) for a non-string, nil when missing
/// ```
public struct JSONFields: Sendable {
    /// A listed member's value.
    public enum Value: Sendable, Equatable {
        /// A string: its range in ``bytes``.
        case string(Range<Int>)
        /// Any other value (`null` included).
        case value(JSONValue)
    }

    /// The bytes of every string value, back to back.
    public private(set) var bytes: [UInt8] = []
    private var values: [Value?]

    /// No member yet, for `table`.
    init(table: JSONFieldTable) {
        values = Array(repeating: nil, count: table.names.count)
    }

    /// The fields of an object given as a tree (a member of a parsed document): the same answers as reading its text.
    public init(_ object: [String: JSONValue], table: JSONFieldTable) {
        self.init(table: table)
        for (slot, name) in table.names.enumerated() {
            switch object[name] {
            case nil: break
            case .string(let text)?: values[slot] = .string(append(text.utf8))
            case let value?: values[slot] = .value(value)
            }
        }
    }

    /// The value of the member in `slot` (the table's order), nil when the object has none.
    public subscript(slot slot: Int) -> Value? {
        values[slot]
    }

    /// The member in `slot` as a string: nil when missing, `.some(nil)` when it is not a string.
    public func string(at slot: Int) -> String?? {
        switch values[slot] {
        case nil: nil
        case .string(let range)?: .some(bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) })
        case .value?: .some(nil)
        }
    }

    /// Empties the fields for the next object, keeping their storage.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        for slot in values.indices { values[slot] = nil }
    }

    /// Sets the member in `slot`; false (and nothing set) when the object already had it.
    mutating func set(_ slot: Int, _ value: Value) -> Bool {
        guard values[slot] == nil else { return false }
        values[slot] = value
        return true
    }

    /// Appends a string's bytes, returning their range.
    mutating func append(_ string: some Collection<UInt8>) -> Range<Int> {
        let start = bytes.count
        bytes.append(contentsOf: string)
        return start..<bytes.count
    }
}

extension JSONValue {
    /// Parses UTF-8 JSON bytes as ``parse(_:)`` does, answering an object as the fields `table` lists: nil when the
    /// document is JSON but not an object.
    ///
    /// - Throws: `DecodingError.dataCorrupted` for bytes that are not JSON, as ``parse(_:)``.
    public static func parseFields(buffer: UnsafeRawBufferPointer, table: JSONFieldTable) throws -> JSONFields? {
        try buffer.withMemoryRebound(to: UInt8.self) { bytes in
            var parser = JSONParser(bytes: bytes)
            guard try parser.startsWithObject() else { return nil }
            var fields = JSONFields(table: table)
            try parser.parseFields(into: &fields, table: table)
            try parser.finishDocument()
            return fields
        }
    }

    /// Parses UTF-8 JSON bytes as one object and calls `body` with each element of its array member `name`, in
    /// order: an object element as the fields `table` lists, any other element as nil. The document is read once,
    /// without a tree of the whole array: a batch of a thousand objects costs no dictionary and no string per member.
    /// The fields passed to `body` are only valid during the call (their storage is reused for the next element).
    ///
    /// The whole document is still checked as ``parse(_:)`` checks it; when it turns out not to be JSON after some
    /// elements were passed, the call throws, so callers act on what they gathered only once this returns.
    ///
    /// - Returns: false, without calling `body`, when the document is JSON but not an object or has no member
    ///   `name` whose value is an array.
    /// - Throws: `DecodingError.dataCorrupted` for bytes that are not JSON, and whatever `body` throws.
    public static func forEachElement(
        ofArray name: String, in buffer: UnsafeRawBufferPointer, table: JSONFieldTable, _ body: (Int, JSONFields?) throws -> Void
    ) throws -> Bool {
        try buffer.withMemoryRebound(to: UInt8.self) { bytes in
            var parser = JSONParser(bytes: bytes)
            var fields = JSONFields(table: table)
            return try parser.parseElementsDocument(ofArray: name) { parser, position in
                if try parser.peekSignificant() == UInt8(ascii: "{") {
                    try parser.parseFields(into: &fields, table: table)
                    try body(position, fields)
                } else {
                    _ = try parser.parseValue()
                    try body(position, nil)
                }
            }
        }
    }
}

extension JSONParser {
    /// Reads the object at `index` into `fields` (emptied first): listed names' values kept, other members checked
    /// and dropped, a repeated name refused.
    mutating func parseFields(into fields: inout JSONFields, table: JSONFieldTable) throws {
        fields.removeAll()
        // Names the table does not list, only to refuse a repeated one.
        var others = JSONMembers()
        var seen = Set<String>()
        try open()
        defer { openDepth -= 1 }
        if try peekSignificant() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            // The name as bytes first: a listed name written plainly (as always in practice) needs no string.
            let nameContent = try parseNameBytes()
            let plainASCII = nameContent.inDocument && lastStringIsPlainASCII
            let name = plainASCII ? nil : withContent(nameContent) { String(decoding: $0, as: UTF8.self) }
            let slot = name.map(table.slot(of:)) ?? table.slot(ofASCII: UnsafeBufferPointer(rebasing: bytes[nameContent.range]))
            if let slot {
                let value: JSONFields.Value
                if try peekSignificant() == UInt8(ascii: "\"") {
                    let content = try parseStringBytes()
                    value = .string(withContent(content) { fields.append($0) })
                } else {
                    value = .value(try parseValue())
                }
                guard fields.set(slot, value) else { throw failure("duplicate member name") }
            } else {
                let name = name ?? String(decoding: UnsafeBufferPointer(rebasing: bytes[nameContent.range]), as: UTF8.self)
                _ = try parseValue()
                guard others.append(name: name, value: .null, seen: &seen) else { throw failure("duplicate member name") }
            }
            if try closes(UInt8(ascii: "}")) { return }
        }
    }
}
