/// The strict, single-pass parser behind ``JSONValue/parse(buffer:)``: RFC 8259 JSON over UTF-8 bytes, with no
/// trailing commas, no duplicate member names and at most ``maxDepth`` nested arrays and objects.
///
/// Trailing commas and duplicate names are refused because Foundation's decoder keeps the *first* of two duplicates
/// while jansson (libjwt's parser), JavaScript and Python keep the last; RFC 7519 §4 requires a JWT parser to reject
/// duplicates or keep the last, and rejecting them keeps every parser in the process agreeing on what a token says.
///
/// Numbers, strings and the depth limit follow what `JSONDecoder` decided when it backed `JSONValue.parse` (see
/// `JSONParser+Numbers.swift`). Containers are parsed with an explicit stack, not recursion, so hostile nesting is
/// refused by the depth check and can never exhaust the thread's stack.
struct JSONParser: ~Copyable {
    /// The deepest nesting accepted: Foundation's `JSONDecoder` limit, so documents it took are still taken.
    static let maxDepth = 512

    /// An open array or object: where its elements (and, for an object, its member names) start on the stacks.
    private struct Frame {
        let isObject: Bool
        let valueStart: Int
        let nameStart: Int
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    /// The elements of every open container, innermost last; reused so a document costs few allocations.
    private var values: [JSONValue] = []
    /// The member names of every open object, in step with their values on `values`.
    private var names: [String] = []
    /// Scratch space for strings with escapes.
    var unescaped: [UInt8] = []
    /// Whether the last string read was ASCII written without escapes.
    var lastStringIsPlainASCII = false
    /// Objects and arrays open around the value `parseValue` reads, opened by the member-wise readers
    /// (`JSONParser+Members.swift`); they count towards ``maxDepth``.
    var openDepth = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Parses the whole buffer as one JSON value, optionally preceded by a UTF-8 byte order mark and surrounded by
    /// whitespace.
    mutating func parseDocument() throws -> JSONValue {
        skipByteOrderMark()
        let value = try parseValue()
        try finishDocument()
        return value
    }

    /// RFC 8259 §8.1 lets parsers ignore a byte order mark at the start; JSONDecoder did.
    mutating func skipByteOrderMark() {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
    }

    /// Only whitespace may follow the document's value.
    mutating func finishDocument() throws {
        while index < bytes.count, Self.isWhitespace(bytes[index]) { index += 1 }
        guard index == bytes.count else { throw failure("unexpected data after the value") }
    }

    // The loop reads one value; a container's opening pushes a frame and loops for its first element, and each
    // completed value is stacked on its container, which is closed (becoming the completed value) or continued.
    mutating func parseValue() throws -> JSONValue {
        var frames: [Frame] = []
        next: while true {
            var value: JSONValue
            switch try peekSignificant() {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard let empty = try openContainer(&frames) else { continue next }
                value = empty
            default:
                value = try parseScalar()
            }
            while let frame = frames.last {
                values.append(value)
                switch try peekSignificant() {
                case UInt8(ascii: ","):
                    index += 1
                    if frame.isObject { try parseMemberName() }
                    continue next
                case frame.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"):
                    index += 1
                    value = frame.isObject ? try closeObject(frame) : closeArray(frame)
                    frames.removeLast()
                default:
                    throw failure(frame.isObject ? "expected ',' or '}'" : "expected ',' or ']'")
                }
            }
            return value
        }
    }

    /// Opens the array or object at `index`: returns it when it is empty, otherwise pushes its frame (reading the
    /// first member name) and returns `nil`.
    private mutating func openContainer(_ frames: inout [Frame]) throws -> JSONValue? {
        guard frames.count + openDepth < Self.maxDepth else { throw failure("nesting deeper than \(Self.maxDepth)") }
        let isObject = bytes[index] == UInt8(ascii: "{")
        index += 1
        if try peekSignificant() == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
            index += 1
            return isObject ? .object([:]) : .array([])
        }
        frames.append(Frame(isObject: isObject, valueStart: values.count, nameStart: names.count))
        if isObject { try parseMemberName() }
        return nil
    }

    /// Reads `"name":` and stacks the name. A `}` here (as in `{"a":1,}`) is refused: trailing commas are not JSON.
    private mutating func parseMemberName() throws {
        names.append(try parseName())
    }

    /// Reads `"name":` and returns the name.
    mutating func parseName() throws -> String {
        let content = try parseNameBytes()
        return withContent(content) { String(decoding: $0, as: UTF8.self) }
    }

    /// Reads `"name":` as ``parseName()`` does, answering the name as ``parseStringBytes()`` does.
    mutating func parseNameBytes() throws -> (range: Range<Int>, inDocument: Bool) {
        guard try peekSignificant() == UInt8(ascii: "\"") else { throw failure("expected a member name") }
        let content = try parseStringBytes()
        guard try peekSignificant() == UInt8(ascii: ":") else { throw failure("expected ':'") }
        index += 1
        return content
    }

    private mutating func closeArray(_ frame: Frame) -> JSONValue {
        let elements = Array(values[frame.valueStart...])
        values.removeLast(values.count - frame.valueStart)
        return .array(elements)
    }

    /// Builds the object, refusing a repeated name. Names compare as Swift strings do (canonically equivalent
    /// spellings are the same name), as the dictionary that holds them would.
    private mutating func closeObject(_ frame: Frame) throws -> JSONValue {
        let count = names.count - frame.nameStart
        var members = [String: JSONValue](minimumCapacity: count)
        for offset in 0..<count {
            let name = names[frame.nameStart + offset]
            guard members.updateValue(values[frame.valueStart + offset], forKey: name) == nil else {
                throw failure("duplicate member name")
            }
        }
        names.removeLast(count)
        values.removeLast(count)
        return .object(members)
    }

    /// A string, number, `true`, `false` or `null` starting at `index` (after whitespace).
    private mutating func parseScalar() throws -> JSONValue {
        switch bytes[index] {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        default: throw failure("expected a value")
        }
    }

    private mutating func parseLiteral(_ literal: StaticString) throws {
        let length = literal.utf8CodeUnitCount
        guard bytes.count - index >= length,
              UnsafeBufferPointer(start: literal.utf8Start, count: length).elementsEqual(bytes[index..<index + length])
        else { throw failure("invalid literal") }
        index += length
    }

    /// The next byte that is not RFC 8259 whitespace (space, tab, line feed, carriage return), left unread.
    mutating func peekSignificant() throws -> UInt8 {
        while index < bytes.count {
            let byte = bytes[index]
            guard Self.isWhitespace(byte) else { return byte }
            index += 1
        }
        throw failure("unexpected end of input")
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\t")
    }

    /// The error for malformed input at `index`: the offset only, never the input (it may hold a token).
    func failure(_ reason: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: [], debugDescription: "Invalid JSON at byte \(index): \(reason)."))
    }
}
