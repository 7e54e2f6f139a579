import Testing
@testable import UsherCrypto

/// Edge cases of `JSONValue.parse`, each checked against the expected value and, where it can run, the
/// implementation it replaced (`LegacyJSONParse`).
@Suite struct JSONParserTests {
    @Test("numbers are classified as JSONDecoder classified them", arguments: [
        ("1.0", JSONValue.integer(1)), ("1e2", .integer(100)), ("1E+2", .integer(100)), ("1e-2", .double(0.01)),
        ("-0", .integer(0)), ("-0.0", .integer(0)), ("0e0", .integer(0)), ("1e-400", .integer(0)),
        ("123.456", .double(123.456)), ("5e-324", .double(.leastNonzeroMagnitude)), ("1.5e300", .double(1.5e300)),
        ("123456789012345678", .integer(123_456_789_012_345_678)), ("9223372036854775807", .integer(.max)),
        ("-9223372036854775808", .integer(.min)), ("9223372036854775808", .double(0x1p63)),
        ("-9223372036854775809", .integer(.min)),  // its Double, -2⁶³, is an integer within Int64 (JSONDecoder: .double)
        ("12345678901234567890", .double(12_345_678_901_234_567_168)),
        ("9223372036854775807.0", .double(0x1p63)),
        ("3.0e18", .integer(3_000_000_000_000_000_000)), ("9.3e18", .double(9.3e18)),
        ("9007199254740993", .integer(9_007_199_254_740_993)),
        // From 2⁵³ up, Foundation went through Decimal, which keeps the written digits and truncates.
        ("9007199254740993.0", .integer(9_007_199_254_740_993)), ("9007199254740993.9", .integer(9_007_199_254_740_993)),
        ("-9007199254740993.9", .integer(-9_007_199_254_740_993)), ("90071992547409931e-1", .integer(9_007_199_254_740_993)),
        ("123456789012345678.5", .integer(123_456_789_012_345_678)),
        ("9007199254740993.00000000000000000000000000000", .integer(9_007_199_254_740_993)),
        ("1" + String(repeating: "0", count: 300) + "e-290", .integer(10_000_000_000)),
    ])
    func numbers(text: String, expected: JSONValue) throws {
        let value = try JSONValue.parse(text)
        #expect(Optional(value).isIdentical(to: expected))
        #expect(LegacyJSONParse.value(of: Array(text.utf8)).isIdentical(to: expected))
    }

    @Test("numbers outside RFC 8259's grammar or Double's range are refused", arguments: [
        "01", "-01", "00", "-", "+1", ".5", "-.5", "1.", "1.e5", "1.5e", "1e+", "1E", "0x10", "1.5.3", "1-2", "1e5e3",
        "--1", "-a", "NaN", "Infinity", "-Infinity", "1E400", "-1E400", "1.7976931348623159e308", "[1.]", "[-]", "{\"a\":01}",
    ])
    func invalidNumbers(text: String) {
        #expect(throws: DecodingError.self) { try JSONValue.parse(text) }
        #expect(LegacyJSONParse.value(of: Array(text.utf8)) == nil)
    }

    /// JSONDecoder made these `.double`, whose text (`1e+16`, `9.223372036854775e+18`) read back as another value, an
    /// `.integer`: a presence member's user_info changed between Usher's parse and the relay's (fuzzing finding F1).
    @Test("an integral number from 2⁵³ to 2⁶³ that Decimal cannot hold is the Double's integer, and reads back the same", arguments: [
        ("9999999999999999.9999", Int64(10_000_000_000_000_000)), ("9223372036854775295.9", 9_223_372_036_854_774_784),
        ("-9223372036854775808.0", .min),
    ])
    func integralBeyondDecimal(text: String, expected: Int64) throws {
        let value = try JSONValue.parse(text)
        #expect(Optional(value).isIdentical(to: .integer(expected)))
        #expect(Optional(try JSONValue.parse(value.jsonText)).isIdentical(to: value))
    }

    @Test("numbers JSONDecoder crashed the process on are the nearest Double's integer", arguments: [
        "9007199254740993" + String(repeating: "0", count: 200) + "e-200",
        "0." + String(repeating: "0", count: 130) + "9007199254740993e146",
    ])
    func numbersThatCrashedFoundation(text: String) throws {
        #expect(Optional(try JSONValue.parse(text)).isIdentical(to: .integer(9_007_199_254_740_992)))
    }

    @Test("escapes decode, surrogate pairs included", arguments: [
        (#""\ud83d\ude00""#, "😀"), (#""\uD83D\uDE00""#, "😀"), (#""\ud800\udc00""#, "\u{10000}"),
        (#""\udbff\udfff""#, "\u{10FFFF}"), (#""\u0000""#, "\u{0}"), (#""\u00e9\u00E9""#, "éé"),
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"), (#""a\u0062c""#, "abc"), ("\"\u{7F}\u{FFFF}\"", "\u{7F}\u{FFFF}"),
        (#""Zoë \u2603""#, "Zoë ☃"),
    ])
    func escapes(text: String, expected: String) throws {
        #expect(try JSONValue.parse(text) == .string(expected))
        #expect(LegacyJSONParse.value(of: Array(text.utf8)) == .string(expected))
    }

    @Test("broken strings are refused", arguments: [
        #""\ud83d""#, #""\ude00""#, #""\ud83dx""#, #""\ud83d\u0041""#, #""\ud83d\ud83d""#, #""\ud83d\\ude00""#,
        #""\u12""#, #""\u12G4""#, #""\U0041""#, #""\x""#, #""\'""#, "\"tab\tin\"", "\"line\nbreak\"", "\"\u{1F}\"",
        #""unterminated"#, #""ends in \"#, #""\u00"#, "\"", "'single'",
    ])
    func invalidStrings(text: String) {
        #expect(throws: DecodingError.self) { try JSONValue.parse(text) }
        #expect(LegacyJSONParse.value(of: Array(text.utf8)) == nil)
    }

    @Test("invalid UTF-8 is refused, in strings and in names", arguments: [
        [0x22, 0xFF, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],
        [0x22, 0xE2, 0x82, 0x22], [0x22, 0x80, 0x22], [0x22, 0x5C, 0x6E, 0xC3, 0x22], [0x7B, 0x22, 0xC3, 0x22, 0x3A, 0x31, 0x7D],
    ] as [[UInt8]])
    func invalidUTF8(bytes: [UInt8]) {
        #expect(throws: DecodingError.self) { try JSONValue.parse(bytes: bytes) }
        #expect(LegacyJSONParse.value(of: bytes) == nil)
    }

    @Test("a UTF-8 byte order mark is skipped; UTF-16 and UTF-32, which JSONDecoder transcoded, are refused")
    func encodings() throws {
        #expect(try JSONValue.parse(bytes: [0xEF, 0xBB, 0xBF] + Array(#"{"a":1}"#.utf8)) == .object(["a": .integer(1)]))
        #expect(throws: DecodingError.self) { try JSONValue.parse(bytes: [0xEF, 0xBB, 0xBF]) }
        #expect(throws: DecodingError.self) { try JSONValue.parse(bytes: [0x20, 0xEF, 0xBB, 0xBF, 0x31]) }
        for bytes: [UInt8] in [[0x31, 0x00], [0x00, 0x31, 0x00, 0x32], [0xFF, 0xFE, 0x31, 0x00], [0x31, 0x00, 0x00, 0x00]] {
            #expect(LegacyJSONParse.readsAsUTF16OrUTF32(bytes))
            #expect(LegacyJSONParse.value(of: bytes) != nil)  // what changed
            #expect(throws: DecodingError.self) { try JSONValue.parse(bytes: bytes) }
        }
    }

    @Test("whitespace is RFC 8259's four characters only", arguments: [
        (" \t\r\n[ 1 ,\t2\r\n]\n", true), ("\u{0C}1", false), ("[1,\u{0C}2]", false), ("\u{A0}1", false),
        ("1\u{2028}", false), ("\u{0}1", false), ("1\u{0}", false),
    ])
    func whitespace(text: String, isValid: Bool) {
        #expect(((try? JSONValue.parse(text)) != nil) == isValid)
    }

    @Test("512 nested containers are accepted and 513 refused, without touching the stack for deeper input")
    func depth() throws {
        func nested(_ depth: Int, _ open: String, _ close: String, closed: Bool = true) -> String {
            String(repeating: open, count: depth) + "1" + (closed ? String(repeating: close, count: depth) : "")
        }
        #expect(throws: Never.self) { try JSONValue.parse(nested(512, "[", "]")) }
        #expect(throws: Never.self) { try JSONValue.parse(nested(512, #"{"a":"#, "}")) }
        #expect(throws: Never.self) { try JSONValue.parse(nested(256, #"[{"a":"#, "}]")) }
        for text in [nested(513, "[", "]"), nested(513, #"{"a":"#, "}"), nested(8_000, "[", "]"),
                     nested(8_000, "[", "]", closed: false), nested(8_000, #"{"a":"#, "}"), String(repeating: "[", count: 100_000)] {
            #expect(throws: DecodingError.self) { try JSONValue.parse(text) }
        }
    }

    @Test("every entry point reads the same bytes the same way")
    func entryPoints() throws {
        let text = #"{"user_id":"u123","user_info":{"name":"Ann","n":5}}"#
        let expected = try JSONValue.parse(text)
        #expect(try JSONValue.parse(Substring("xx" + text + "yy").dropFirst(2).dropLast(2)) == expected)
        #expect(try JSONValue.parse(bytes: Array(text.utf8)) == expected)
        #expect(try JSONValue.parse(bytes: Array(("[" + text + "]").utf8).dropFirst().dropLast()) == expected)
        #expect(try JSONValue.parse(bytes: Array(text.utf8).lazy.map { $0 }) == expected)  // not contiguous
        #expect(try Array(text.utf8).withUnsafeBytes { try JSONValue.parse(buffer: $0) } == expected)
        #expect(throws: DecodingError.self) { try JSONValue.parse(buffer: UnsafeRawBufferPointer(start: nil, count: 0)) }
    }

    @Test("the comparison tells apart doubles that == calls equal")
    func identical() {
        #expect(!Optional(JSONValue.double(0.0)).isIdentical(to: .double(-0.0)))
        #expect(!Optional(JSONValue.array([.double(1)])).isIdentical(to: .array([.integer(1)])))
        #expect(Optional(JSONValue.object(["a": .array([.double(0.5)])])).isIdentical(to: .object(["a": .array([.double(0.5)])])))
        #expect(!Optional(JSONValue.null).isIdentical(to: nil))
    }

    @Test("errors are dataCorrupted with a byte offset, and never repeat the input")
    func errors() {
        do {
            _ = try JSONValue.parse(#"{"token":"s3cr3t-value","#)
            Issue.record("expected an error")
        } catch DecodingError.dataCorrupted(let context) {
            #expect(context.debugDescription.contains("byte 24"))
            #expect(!context.debugDescription.contains("s3cr3t"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
