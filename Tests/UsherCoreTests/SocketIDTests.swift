import Testing
import UsherCore

@Suite struct SocketIDTests {
    @Test("accepts two runs of ASCII digits joined by a dot", arguments: ["123.456", "0.0", "1234.1234"])
    func accepts(text: String) throws {
        #expect(try SocketID(validating: text).description == text)
    }

    @Test("accepts a validated substring and keeps only its text")
    func acceptsSubstring() throws {
        let text = "x123.456y"
        let inner = text.dropFirst().dropLast()
        #expect(try SocketID(validating: inner).description == "123.456")
        // The substring path checks as the String one does, and refuses what is too long before copying it.
        #expect(throws: CoreError.invalidSocketID) { try SocketID(validating: "x12.3".dropFirst(0)) }
        #expect(throws: CoreError.invalidSocketID) { try SocketID(validating: String(repeating: "1", count: 1 << 20).dropFirst()) }
        let longest = String(repeating: "9", count: 20) + "." + String(repeating: "9", count: 20)
        #expect(try SocketID(validating: ("x" + longest).dropFirst()).description == longest)
    }

    @Test(
        "rejects anything else",
        arguments: [
            "", "1234", "1234.", ".1234", "a.b", "1.2.3", " 1.2", "1.2 ", "1.2\n", "١.٢", "1..2", "+1.2", "-1.2", "1,2", "１.２",
        ]
    )
    func rejects(text: String) {
        #expect(throws: CoreError.invalidSocketID) { try SocketID(validating: text) }
    }

    @Test("allows 20 digits per part and rejects 21")
    func digitLimit() throws {
        let twenty = String(repeating: "9", count: 20)
        #expect(try SocketID(validating: "\(twenty).\(twenty)").description.count == 41)
        #expect(throws: CoreError.invalidSocketID) { try SocketID(validating: "\(twenty)9.1") }
        #expect(throws: CoreError.invalidSocketID) { try SocketID(validating: "1.\(twenty)9") }
    }

    @Test("equal texts are equal ids")
    func equality() throws {
        #expect(try SocketID(validating: "1.2") == SocketID(validating: "1.2"))
        #expect(try SocketID(validating: "1.2") != SocketID(validating: "1.20"))
    }
}
