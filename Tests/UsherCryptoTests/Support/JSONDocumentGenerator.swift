/// SplitMix64: a tiny seeded generator, so a failing case can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// Random JSON documents built from pieces near every rule's edge (number spellings around 2⁵³ and 2⁶³, escapes,
/// surrogates, names that collide once unescaped or normalized, stray whitespace, trailing commas), and byte-level
/// mutations of them. Numbers stay short: long ones can crash the reference decoder (see `LegacyJSONParse`).
struct JSONDocumentGenerator {
    private var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    private static let numbers = [
        "0", "-0", "1", "-7", "10", "1.0", "10.5", "-0.25", "1e2", "1E2", "1e+2", "1e-2", "-0.0", "0e0", "1e-400",
        "1E400", "-1e400", "123456789012345678", "1234567890123456789", "12345678901234567890",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "9007199254740993", "9007199254740993.0", "9007199254740993.9", "-9007199254740993.9", "90071992547409931e-1",
        "9223372036854775807.0", "-9223372036854775808.0", "123456789012345678.5", "1.5e300", "5e-324", "2.5e-324",
        "1.7976931348623157e308", "1.7976931348623159e308", "0.1", "3.0e18", "9.3e18", "18446744073709551616.0",
        "01", "-01", "+1", ".5", "1.", "1.e5", "-", "1e", "1e+", "0x10", "1.5.3", "--1", "1-2",
    ]
    private static let strings = [
        "", "a", "A", "user_id", "é", "e\\u0301", "\\u00e9", "\\u0061", "Zoë ☃ 🎉", "\\ud83d\\ude00", "\\uD83D\\uDE00",
        "\\ud83d", "\\ude00", "\\ud83dx", "\\ud83d\\u0041", "\\u0000", "\\n\\r\\t\\b\\f\\/\\\\\\\"", "\\x", "\\u12G4",
        "\\u12", "tab\tin", "a,]", "b,}", "{\\\"a\\\":1}", "\u{7F}", "\u{2028}", "\u{FEFF}",
    ]
    private static let names = ["a", "\\u0061", "b", "é", "e\\u0301", "user_id", "user_info", "", "a\\\"", "a\\\\"]
    private static let whitespace = ["", "", "", " ", "\n", "\t", "\r\n ", "\u{0C}", "\u{A0}"]
    private static let insertable: [UInt8] = Array(#"{}[],:"\ 0123456789eE.-+tfnu/"#.utf8)
        + [0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x7F, 0x80, 0xA0, 0xA9, 0xC3, 0xE2, 0xED, 0xF0, 0xFF]

    /// A document up to four containers deep, sometimes after a byte order mark.
    mutating func document() -> [UInt8] {
        var text = chance(3) ? "\u{FEFF}" : ""
        text += pick(Self.whitespace)
        value(depth: 0, into: &text)
        text += pick(Self.whitespace)
        return Array(text.utf8)
    }

    /// One to three random edits of `document`: delete, insert, replace or repeat bytes, or cut the end off.
    mutating func mutate(_ document: [UInt8]) -> [UInt8] {
        var bytes = document
        for _ in 0...(random.next() % 3) {
            let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
            switch random.next() % 5 {
            case 0 where !bytes.isEmpty: bytes.remove(at: position)
            case 1: bytes.insert(pick(Self.insertable), at: position)
            case 2 where !bytes.isEmpty: bytes[position] = pick(Self.insertable)
            case 3 where !bytes.isEmpty:
                let end = min(bytes.count, position + 1 + Int(random.next() % 8))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            default: bytes.removeLast(bytes.count - position)
            }
        }
        return bytes
    }

    private mutating func value(depth: Int, into text: inout String) {
        switch random.next() % (depth < 4 ? 9 : 6) {
        case 0: text += pick(["true", "false", "null"])
        case 1, 2: text += pick(Self.numbers)
        case 3: text += String(Int64(bitPattern: random.next()) >> (random.next() % 64))
        case 4: text += "\(Double(bitPattern: random.next() >> 2 | 0x3000_0000_0000_0000))"  // finite, positive
        case 5: text += "\"" + pick(Self.strings) + "\""
        case 6: container(open: "[", close: "]", into: &text) { $0.value(depth: depth + 1, into: &$1) }
        default:
            container(open: "{", close: "}", into: &text) { generator, text in
                text += "\"" + generator.pick(Self.names) + "\"" + generator.pick(Self.whitespace) + ":"
                text += generator.pick(Self.whitespace)
                generator.value(depth: depth + 1, into: &text)
            }
        }
    }

    private mutating func container(
        open: String, close: String, into text: inout String, element: (inout Self, inout String) -> Void
    ) {
        text += open + pick(Self.whitespace)
        let count = Int(random.next() % 4)
        for index in 0..<count {
            if index > 0 { text += pick(Self.whitespace) + "," + pick(Self.whitespace) }
            element(&self, &text)
        }
        if count > 0, chance(5) { text += "," }
        text += pick(Self.whitespace) + close
    }

    private mutating func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }

    private mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }
}
