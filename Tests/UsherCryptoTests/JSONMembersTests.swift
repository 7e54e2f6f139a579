import Testing
@testable import UsherCrypto

/// The member-wise readers (`parseMembers`, `forEachElement(ofArray:in:_:)`) against `JSONValue.parse`, which they
/// must agree with on every document: the same refusals, and the same members.
@Suite struct JSONMembersTests {
    @Test("parseMembers reads an object's members in order and answers nil for other values")
    func members() throws {
        let members = try #require(try JSONValue.parseMembers(#" {"b":1,"a":{"x":[true]},"c":"\u00e9"} "#))
        #expect(members.members.map(\.name) == ["b", "a", "c"])
        #expect(members["a"] == .object(["x": .array([.bool(true)])]))
        #expect(members["c"] == .string("é"))
        #expect(members["d"] == nil)
        #expect(try JSONValue.parseMembers("[1]") == nil)
        #expect(try JSONValue.parseMembers(#""{}""#) == nil)
        #expect(try JSONValue.parseMembers("{}")?.count == 0)
    }

    @Test("a repeated name is refused, in small objects and past the linear limit", arguments: [2, JSONMembers.linearLimit + 5])
    func repeatedNames(count: Int) {
        let names = (0..<count).map { "\"k\($0)\":\($0)" }
        let unique = "{" + names.joined(separator: ",") + "}"
        #expect((try? JSONValue.parseMembers(unique))??.count == count)
        let repeated = "{" + (names + [#""k1":0"#]).joined(separator: ",") + "}"
        #expect(throws: DecodingError.self) { try JSONValue.parseMembers(repeated) }
        // Canonically equivalent names are the same name, as dictionary keys are.
        #expect(throws: DecodingError.self) { try JSONValue.parseMembers(#"{"\u00e9":1,"e\u0301":2}"#) }
    }

    @Test("the depth limit counts the containers read member by member")
    func depth() {
        func nested(_ depth: Int) -> String { String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
        // 512 levels in all are taken, 513 refused, however the outer levels are read.
        #expect((try? JSONValue.parseMembers(#"{"a":"# + nested(511) + "}")) != nil)
        #expect((try? JSONValue.parse(#"{"a":"# + nested(511) + "}")) != nil)
        #expect((try? JSONValue.parseMembers(#"{"a":"# + nested(512) + "}")) == nil)
        #expect((try? JSONValue.parse(#"{"a":"# + nested(512) + "}")) == nil)
        #expect(Self.elements(#"{"ops":[{"a":"# + nested(509) + "}]}") != nil)
        #expect(Self.elements(#"{"ops":[{"a":"# + nested(510) + "}]}") == nil)
        #expect(Self.elements(#"{"ops":"# + nested(511) + "}") != nil)
        #expect(Self.elements(#"{"ops":"# + nested(512) + "}") == nil)
    }

    @Test("forEachElement passes each element as parse reads it, and refuses what parse refuses")
    func elements() throws {
        let read = try #require(Self.elements(#"{"x":1,"ops":[{"op":"join","n":2},7,{}],"y":[{"z":1}]}"#))
        #expect(read.isArray)
        #expect(read.elements.count == 3)
        #expect(read.elements[0] == ["op": .string("join")])  // "n" is not in the table
        #expect(read.elements[1] == nil)
        #expect(read.elements[2] == [:])
        #expect(Self.elements(#"{"ops":5}"#)?.isArray == false)
        #expect(Self.elements(#"[{"ops":[]}]"#)?.isArray == false)
        #expect(Self.elements(#"{"ops":[],"ops":[]}"#) == nil)
        #expect(Self.elements(#"{"ops":[{"a":1}],}"#) == nil)
        #expect(Self.elements(#"{"ops":[{"a":1,"a":2}]}"#) == nil)
        #expect(Self.elements(#"{"ops":[{"a":1}] "#) == nil)
    }

    @Test("parseFields reads a table's names, strings as bytes, other values as trees, and refuses what parse refuses")
    func fields() throws {
        let table = JSONFieldTable(["a", "b", "c", "d"])
        let read = try #require(
            try Array(#" {"b":"x\"y\u00e9","z":[1,{"a":2}],"a":"plain","c":null,"d":{"e":[true]}} "#.utf8).withUnsafeBytes {
                try JSONValue.parseFields(buffer: $0, table: table)
            })
        #expect(read.string(at: 0) == .some("plain"))
        #expect(read.string(at: 1) == .some("x\"yé"))
        #expect(read[slot: 2] == .value(.null) && read.string(at: 2) == .some(nil))
        #expect(read[slot: 3] == .value(.object(["e": .array([.bool(true)])])))
        #expect(Self.fields(#"{"a":1}"#, table: JSONFieldTable(["b"]))?[slot: 0] == nil)
        #expect(Self.fields("[1]", table: table) == nil)
        // A listed name in another spelling is the same name: escaped, or canonically equivalent with another byte
        // length (KELVIN SIGN, U+212A, is "K"; GREEK QUESTION MARK, U+037E, is ";").
        let spelled = JSONFieldTable(["Key", "x;", "socket_id"])
        for (document, slot) in [
            (#"{"z":0,"\u212Aey":1}"#, 0), (#"{"z":0,"\#u{212A}ey":1}"#, 0), (#"{"z":0,"x\u037E":1}"#, 1), (#"{"socket\u005fid":1}"#, 2),
        ] {
            #expect(Self.fields(document, table: spelled)?[slot: slot] == .value(.integer(1)), "\(document)")
        }
        for repeated in [#"{"Key":1,"\#u{212A}ey":2}"#, #"{"\#u{212A}ey":1,"Key":2}"#, #"{"x;":1,"x\u037E":2}"#] {
            #expect(Self.fields(repeated, table: spelled) == nil, "\(repeated)")
        }
        for refused in [#"{"a":1,"\u0061":2}"#, #"{"z":1,"z":2}"#, #"{"é":1,"e\u0301":2}"#, #"{"a":"\ud800"}"#, #"{"a":1,}"#, #"{"a":1} 2"#] {
            #expect(throws: DecodingError.self, "\(refused)") { try Array(refused.utf8).withUnsafeBytes { try JSONValue.parseFields(buffer: $0, table: table) } }
        }
    }

    @Test("agree with parse on seeded random documents, whole and wrapped as array elements, and on their mutations")
    func matchParse() {
        var checked = 0
        var objects = 0
        var arrays = 0
        var mismatches = 0
        for seed: UInt64 in 1...800 {
            var generator = JSONDocumentGenerator(seed: seed)
            let document = generator.document()
            let wrapped = Array(#"{"id":1,"ops":[{"v":"#.utf8) + document + Array("},".utf8) + generator.document() + Array("]}".utf8)
            for variant in 0..<12 {
                let base = variant.isMultiple(of: 2) ? document : wrapped
                let bytes = variant < 2 ? base : generator.mutate(base)
                checked += 1
                let parsed = try? JSONValue.parse(bytes: bytes)
                if case .object? = parsed { objects += 1 }
                if case .array(let items)? = parsed?["ops"], items.contains(where: { if case .object = $0 { true } else { false } }) { arrays += 1 }
                let expected: [String: JSONValue]?? = parsed.map { if case .object(let members) = $0 { members } else { nil } }
                let members = (try? bytes.withUnsafeBytes { try JSONValue.parseMembers(buffer: $0) }).map { $0.map(Self.dictionary) }
                let fields = (try? bytes.withUnsafeBytes { try JSONValue.parseFields(buffer: $0, table: Self.table) }).map { $0.map(Self.dictionary) }
                var expectedElements: ExpectedElements?
                if let parsed {
                    if case .array(let items)? = parsed["ops"] {
                        expectedElements = ExpectedElements(
                            isArray: true, elements: items.map { if case .object(let m) = $0 { Self.listed(m) } else { nil } })
                    } else {
                        expectedElements = ExpectedElements(isArray: false, elements: [])
                    }
                }
                let elements = bytes.withUnsafeBytes { Self.elements($0) }
                guard !Self.same(members, expected) || !Self.same(fields, expected.map { $0.map(Self.listed) }) || elements != expectedElements
                else { continue }
                mismatches += 1
                Issue.record("seed \(seed) variant \(variant), \(String(decoding: bytes, as: UTF8.self).debugDescription)")
                if mismatches == 10 { return }
            }
        }
        // Both readers were exercised on real objects, not only on refusals.
        #expect(objects > 200)
        #expect(arrays > 50)
    }

    @Test("a member already in compact form is kept as its text; any other form is parsed", arguments: [
        (#"{"a":1,"b":{"c":[true,null,"x",-12,0,[]]},"d":{}}"#, true),
        (#"{}"#, true),
        (#"{"":"","a b":"~"}"#, true),
        (#"{"a":1, "b":2}"#, false),          // whitespace
        (#"{"b":1,"a":2}"#, false),           // names out of order
        (#"{"a":"\n"}"#, false),             // an escape
        (#"{"a":"é"}"#, false),               // non-ASCII
        (#"{"a":1.0}"#, false),               // a fraction: jsonText writes 1
        (#"{"a":1e2}"#, false),
        (#"{"a":-0}"#, false),
        (#"{"a":1234567890123456789}"#, false),  // 19 digits
        (#"{"a":123456789012345678}"#, true),
        (#"{"a":"\u0041"}"#, false),
        (String(repeating: #"{"a":"#, count: 33) + "1" + String(repeating: "}", count: 33), false),  // deeper than 32
        (String(repeating: #"{"a":"#, count: 32) + "1" + String(repeating: "}", count: 32), true),
    ])
    func compact(info: String, isCompact: Bool) throws {
        let read = try #require(try JSONValue.parseMembers(#"{"user_id":"1","user_info":"# + info + "}", keepingCompact: "user_info"))
        let value = try JSONValue.parse(info)
        if isCompact {
            #expect(read.compact == info)
            #expect(read.members["user_info"] == .null)
            #expect(value.jsonText == info)
        } else {
            #expect(read.compact == nil)
            #expect(read.members["user_info"] == value)
        }
        #expect(read.members["user_id"] == .string("1"))
    }

    @Test("a compact member is still refused when repeated, and the rest of the text still checked")
    func compactRefusals() {
        #expect(throws: DecodingError.self) { try JSONValue.parseMembers(#"{"i":{},"i":{}}"#, keepingCompact: "i") }
        #expect(throws: DecodingError.self) { try JSONValue.parseMembers(#"{"i":{"a":1}x}"#, keepingCompact: "i") }
        #expect(throws: DecodingError.self) { try JSONValue.parseMembers(#"{"i":{"a":1},}"#, keepingCompact: "i") }
        #expect(throws: DecodingError.self) { try JSONValue.parseMembers(#"{"i":{"a":12x}}"#, keepingCompact: "i") }
    }

    @Test("compact text is kept exactly when it is what jsonText writes, on seeded random documents")
    func compactMatchesJSONText() {
        var kept = 0
        var mismatches = 0
        for seed: UInt64 in 1...1_500 {
            var generator = JSONDocumentGenerator(seed: seed)
            let document = generator.document()
            // The document as sent, and its own compact text (which the reader should keep whenever it is in the subset).
            var variants = [document]
            if let value = try? JSONValue.parse(bytes: document) {
                variants.append(Array(value.jsonText.utf8))
                variants.append(Array(JSONValue.object(["v": value, "w": .integer(Int64(seed))]).jsonText.utf8))
            }
            for variant in variants {
                let text = #"{"user_info":"# + String(decoding: variant, as: UTF8.self) + "}"
                let whole = try? JSONValue.parse(text)
                let read = try? JSONValue.parseMembers(text, keepingCompact: "user_info")
                var ok = (whole == nil) == (read == nil)
                if let read, let compact = read.compact {
                    kept += 1
                    let json: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
                    let trimmed = variant.drop(while: json.contains).reversed().drop(while: json.contains).reversed()
                    ok = ok && compact.utf8.elementsEqual(trimmed) && whole?["user_info"]?.jsonText == compact
                        && (try? JSONValue.parse(compact)) == whole?["user_info"]
                } else if let read {
                    ok = ok && read.members["user_info"] == whole?["user_info"]
                }
                guard !ok else { continue }
                mismatches += 1
                Issue.record("seed \(seed): \(text.debugDescription)")
                if mismatches == 10 { return }
            }
        }
        #expect(kept > 200)
    }

    struct ExpectedElements: Equatable {
        var isArray: Bool
        var elements: [[String: JSONValue]?]
    }

    private static func same(_ a: [String: JSONValue]??, _ b: [String: JSONValue]??) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let a??, let b??): a.count == b.count && a.allSatisfy { key, value in Optional(value).isIdentical(to: b[key]) }
        case (.some(nil), .some(nil)): true
        default: false
        }
    }

    private static func dictionary(_ members: JSONMembers) -> [String: JSONValue] {
        Dictionary(members.members, uniquingKeysWith: { first, _ in first })
    }

    /// The names the field readers are tested with: some of the generator's (escaped and canonically equivalent
    /// spellings of them included), not all.
    static let table = JSONFieldTable(["a", "b", "user_id", "op", ""])

    /// Fields as the tree `parse` makes of the same members.
    private static func dictionary(_ fields: JSONFields) -> [String: JSONValue] {
        var members: [String: JSONValue] = [:]
        for (slot, name) in table.names.enumerated() {
            switch fields[slot: slot] {
            case nil: break
            case .string?: members[name] = .string(fields.string(at: slot)!!)
            case .value(let value)?: members[name] = value
            }
        }
        return members
    }

    /// The members of a parsed object the table lists.
    private static func listed(_ members: [String: JSONValue]) -> [String: JSONValue] {
        members.filter { table.names.contains($0.key) }
    }

    static func fields(_ text: String, table: JSONFieldTable) -> JSONFields? {
        (try? Array(text.utf8).withUnsafeBytes { try JSONValue.parseFields(buffer: $0, table: table) }) ?? nil
    }

    static func elements(_ text: String) -> ExpectedElements? {
        Array(text.utf8).withUnsafeBytes { elements($0) }
    }

    static func elements(_ buffer: UnsafeRawBufferPointer) -> ExpectedElements? {
        var read = ExpectedElements(isArray: false, elements: [])
        guard let isArray = try? JSONValue.forEachElement(ofArray: "ops", in: buffer, table: table, { index, fields in
            #expect(index == read.elements.count)
            read.elements.append(fields.map(dictionary))
        }) else { return nil }
        read.isArray = isArray
        if !isArray { read.elements = [] }
        return read
    }
}
