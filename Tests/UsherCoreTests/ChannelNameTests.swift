import Testing
import UsherCore

@Suite struct ChannelNameTests {
    @Test(
        "classifies by prefix at position 0",
        arguments: [
            ("private-encrypted-foobar", ChannelKind.privateEncrypted),
            ("private-encrypted-", .privateEncrypted),
            ("presence-room", .presence),
            ("private-foobar", .private),
            ("private-encryptedfoo", .private),
            ("#server-to-user-42", .serverToUser(userID: "42")),
            ("#server-to-user-a=b@c", .serverToUser(userID: "a=b@c")),
            ("cache-prices", .public),
            ("my-private-channel", .public),
            ("xpresence-room", .public),
            ("Private-foo", .public),
            ("private", .public),
            ("A-Za-z0-9_-=@,.;", .public),
        ]
    )
    func classifies(name: String, kind: ChannelKind) throws {
        let channel = try ChannelName(validating: name)
        #expect(channel.kind == kind)
        #expect(channel.name == name)
        #expect(channel.description == name)
    }

    @Test(
        "only private, presence and encrypted channels need an auth string",
        arguments: [
            ("private-encrypted-x", true), ("presence-x", true), ("private-x", true),
            ("#server-to-user-1", false), ("public-x", false), ("cache-x", false),
        ]
    )
    func requiresAuthorization(name: String, expected: Bool) throws {
        #expect(try ChannelName(validating: name).requiresAuthorization == expected)
    }

    @Test(
        "rejects empty names, spaces, non-ASCII and misplaced #",
        arguments: [
            "", " ", "private- foo", "foo bar", "tab\there", "line\n", "zoë", "café-1", "ｆｕｌｌ", "a/b", "a:b", "a*b",
            "#foo", "a#b", "private-#server-to-user-1", "#server-to-user-", "#server-to-user-a#b", "#server-to-user-a b",
            "#Server-to-user-1", "{x}",
        ]
    )
    func rejects(name: String) {
        #expect(throws: CoreError.invalidChannelName) { try ChannelName(validating: name) }
    }

    @Test("accepts exactly the alphabet A-Z a-z 0-9 _ - = @ , . ; at every byte value")
    func alphabet() {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-=@,.;".utf8)
        for byte in UInt8.min...UInt8.max {
            // A lone byte, and the byte inside a longer name (the check reads whole names at once).
            for bytes in [[byte], Array("presence-a".utf8) + [byte] + Array("b".utf8)] {
                let name = String(decoding: bytes, as: UTF8.self)
                let accepted = (try? ChannelName(validating: name)) != nil
                #expect(accepted == allowed.contains(byte), "byte \(byte)")
            }
        }
    }

    @Test("accepts 200 characters and rejects 201 by default")
    func defaultLength() throws {
        let twoHundred = "private-" + String(repeating: "a", count: 192)
        #expect(try ChannelName(validating: twoHundred).name.count == 200)
        #expect(throws: CoreError.channelNameTooLong) { try ChannelName(validating: twoHundred + "a") }
    }

    @Test("honours a configured maximum length")
    func configuredLength() throws {
        let name = String(repeating: "b", count: 164)
        #expect(try ChannelName(validating: name, maxLength: 164).name == name)
        #expect(throws: CoreError.channelNameTooLong) { try ChannelName(validating: name + "b", maxLength: 164) }
    }
}
