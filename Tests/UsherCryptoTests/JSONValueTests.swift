import Foundation
import Testing
@testable import UsherCrypto

@Suite struct JSONValueTests {
    @Test("jsonText is compact with keys sorted at every level")
    func sortedKeys() throws {
        let value = try JSONValue.parse(#"{ "b": 1, "a": [true, null, "x"], "c": {"z": 1.5, "y": -2}, "B": {}, "_": [] }"#)
        #expect(value.jsonText == #"{"B":{},"_":[],"a":[true,null,"x"],"b":1,"c":{"y":-2,"z":1.5}}"#)
    }

    @Test("keys sort by code point, as Python's sort_keys does, not by Swift's normalizing String order")
    func codePointOrder() {
        // "e" + U+0301 normalizes to U+00E9, which Swift would sort after "f"; its first code point sorts before.
        let value = JSONValue.object(["f": .integer(2), "e\u{301}": .integer(1), "\u{1F600}": .integer(4), "\u{FB01}": .integer(3)])
        #expect(value.jsonText == "{\"e\u{301}\":1,\"f\":2,\"\u{FB01}\":3,\"\u{1F600}\":4}")
    }

    @Test("integers stay integers and keep their text", arguments: [
        ("10", JSONValue.integer(10), "10"),
        ("-7", .integer(-7), "-7"),
        ("0", .integer(0), "0"),
        ("9223372036854775807", .integer(Int64.max), "9223372036854775807"),
        ("-9223372036854775808", .integer(Int64.min), "-9223372036854775808"),
        ("10.5", .double(10.5), "10.5"),
        ("-0.25", .double(-0.25), "-0.25"),
    ])
    func numbers(text: String, expected: JSONValue, rendered: String) throws {
        let value = try JSONValue.parse(text)
        #expect(value == expected)
        #expect(value.jsonText == rendered)
    }

    @Test("a number beyond Int64 becomes a double, and JSON booleans are not numbers")
    func numberKinds() throws {
        guard case .double(let big) = try JSONValue.parse("9223372036854775808") else {
            Issue.record("expected a double")
            return
        }
        #expect(big == 9_223_372_036_854_775_808)
        #expect(try JSONValue.parse("true") == .bool(true))
        #expect(try JSONValue.parse("false") == .bool(false))
        #expect(try JSONValue.parse("1") == .integer(1))
        #expect(try JSONValue.parse("0") == .integer(0))
        #expect(try JSONValue.parse(#"{"user_id":10}"#).jsonText == #"{"user_id":10}"#)
    }

    @Test("non-finite doubles render as null")
    func nonFinite() {
        #expect(JSONValue.double(.infinity).jsonText == "null")
        #expect(JSONValue.double(.nan).jsonText == "null")
    }

    @Test("quoted escapes quotes, backslashes and control characters only", arguments: [
        ("plain", #""plain""#),
        (#"say "hi""#, #""say \"hi\"""#),
        (#"back\slash"#, #""back\\slash""#),
        ("a/b", #""a/b""#),
        ("line\nfeed\rreturn\ttab", #""line\nfeed\rreturn\ttab""#),
        ("\u{08}\u{0C}", #""\b\f""#),
        ("\u{00}\u{01}\u{1F}", #""\u0000\u0001\u001f""#),
        ("Zoë ☃ 🎉", "\"Zoë ☃ 🎉\""),
        ("\u{7F}\u{2028}", "\"\u{7F}\u{2028}\""),
        ("", #""""#),
    ])
    func quoted(text: String, expected: String) throws {
        #expect(JSON.quoted(text) == expected)
        #expect(try JSONValue.parse(expected) == .string(text))
    }

    @Test("every control character survives a quote-and-parse round trip")
    func controlRoundTrip() throws {
        let text = String(String.UnicodeScalarView((0..<0x20).compactMap(Unicode.Scalar.init))) + "\"\\/é"
        #expect(try JSONValue.parse(JSON.quoted(text)) == .string(text))
        #expect(JSONValue.string(text).jsonText == JSON.quoted(text))
    }

    @Test("parsed escapes come back as the characters themselves")
    func parsedEscapes() throws {
        let value = try JSONValue.parse(#"{"name":"Zo\u00eb","path":"a\/b","quote":"\""}"#)
        #expect(value["name"]?.stringValue == "Zoë")
        #expect(value.jsonText == #"{"name":"Zoë","path":"a/b","quote":"\""}"#)
    }

    @Test("invalid JSON throws", arguments: [
        "", " ", "{", "}", #"{"a":}"#, "[1,]", #"{"a":1,}"#, "tru", "{'a':1}", "1 2", #"{"a":1}x"#, "NaN",
        #""unterminated"#, #"{"a" 1}"#, "[1 2]", #"{a:1}"#, "01", "+1",
    ])
    func invalid(text: String) {
        #expect(throws: (any Error).self) { try JSONValue.parse(text) }
    }

    @Test("trailing commas throw, though Foundation's decoder would accept them", arguments: [
        "[1,]", #"{"a":1,}"#, "[1 , ]", "{\"a\":1 ,\n}", #"{"a":[1,],"b":2}"#, #"[[],]"#, #"[{"a":1},]"#,
    ])
    func trailingComma(text: String) {
        #expect(throws: (any Error).self) { try JSONValue.parse(text) }
    }

    @Test("duplicate member names throw (Foundation keeps the first, jansson and JavaScript the last)", arguments: [
        #"{"a":1,"a":2}"#, #"{"a":1,"b":2,"a":1}"#, #"{"a":1,"\u0061":2}"#, #"{"x":{"a":1,"a":2}}"#, #"[{"a":1,"a":1}]"#,
        #"{"exp":1,"sub":"x","exp":9999999999}"#,
    ])
    func duplicateNames(text: String) {
        #expect(throws: (any Error).self) { try JSONValue.parse(text) }
    }

    @Test("commas, brackets and repeated names inside strings or separate objects are fine", arguments: [
        (#"["a,]","b,}"]"#, #"["a,]","b,}"]"#),
        (#"{"a":{"a":1},"b":[{"a":1},{"a":2}]}"#, #"{"a":{"a":1},"b":[{"a":1},{"a":2}]}"#),
        (#"{"a\"":1,"a":2,"a\\":3}"#, #"{"a":2,"a\"":1,"a\\":3}"#),
        (#"{"k":"a","v":"k"}"#, #"{"k":"a","v":"k"}"#),
        (#"{"a":{},"b":1}"#, #"{"a":{},"b":1}"#),
        (#"[{}, "x", []]"#, #"[{},"x",[]]"#),
    ])
    func strictButValid(text: String, rendered: String) throws {
        #expect(try JSONValue.parse(text).jsonText == rendered)
    }

    @Test("a number with an integral value parses as an integer, whatever its spelling")
    func integralDoubles() throws {
        #expect(try JSONValue.parse("10.0") == .integer(10))
        #expect(try JSONValue.parse("1e2") == .integer(100))
    }

    @Test("invalid UTF-8 bytes throw")
    func invalidUTF8() {
        #expect(throws: (any Error).self) { try JSONValue.parse(bytes: [0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test("subscripts and stringValue read objects and strings only")
    func accessors() throws {
        let value = try JSONValue.parse(#"{"a":"x","b":2}"#)
        #expect(value["a"] == .string("x"))
        #expect(value["a"]?.stringValue == "x")
        #expect(value["b"]?.stringValue == nil)
        #expect(value["missing"] == nil)
        #expect(JSONValue.array([.string("a")])["a"] == nil)
    }

    @Test("Codable round-trips through Foundation's encoder")
    func codable() throws {
        let value = try JSONValue.parse(#"{"a":[1,2.5,"s",null,false,{"k":"v"}]}"#)
        let data = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == value)
        #expect(try JSONValue.parse(value.jsonText) == value)
    }
}
