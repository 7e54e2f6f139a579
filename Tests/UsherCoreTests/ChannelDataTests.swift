import Testing
import UsherCore
import UsherCrypto

@Suite struct ChannelDataTests {
    @Test("builds compact channel_data with a string user_id")
    func make() throws {
        let info = JSONValue.object(["name": .string("Zoë"), "age": .integer(3)])
        #expect(try ChannelData.make(userID: "42", userInfo: info) == #"{"user_id":"42","user_info":{"age":3,"name":"Zoë"}}"#)
        #expect(try ChannelData.make(userID: "42", userInfo: nil) == #"{"user_id":"42"}"#)
        #expect(try ChannelData.make(userID: #"a"b\c"#, userInfo: nil) == #"{"user_id":"a\"b\\c"}"#)
    }

    @Test("a member read from channel_data keeps its user_info as compact text with sorted keys, made once")
    func member() throws {
        let member = try ChannelData.member(#"{ "user_info": {"name": "Zoë", "age": 3.0, "tags": ["a", "b"]}, "user_id": 10 }"#)
        #expect(member.userID == "10")
        #expect(member.userInfoJSON == #"{"age":3,"name":"Zoë","tags":["a","b"]}"#)
        #expect(member.userInfo == .object(["age": .integer(3), "name": .string("Zoë"), "tags": .array([.string("a"), .string("b")])]))
        #expect(try ChannelData.member(#"{"user_id":"u","user_info":null}"#).userInfoJSON == nil)
        #expect(member == PresenceMember(userID: "10", userInfo: member.userInfo))
        // The same refusals as parse.
        #expect(throws: CoreError.invalidUserInfo) { try ChannelData.member(#"{"user_id":"u","user_info":[1]}"#) }
        #expect(throws: CoreError.missingUserID) { try ChannelData.member(#"{"user_info":{}}"#) }
        let over = String(repeating: "x", count: 1017)
        #expect(throws: CoreError.userInfoTooLarge) { try ChannelData.member(#"{"user_id":"1","user_info":{"k":"\#(over)"}}"#) }
    }

    @Test("user ids of 128 characters pass and 129 fail")
    func userIDLength() throws {
        let id128 = String(repeating: "u", count: 128)
        #expect(try ChannelData.make(userID: id128, userInfo: nil).contains(id128))
        #expect(throws: CoreError.userIDTooLong) { try ChannelData.make(userID: id128 + "u", userInfo: nil) }
        #expect(try ChannelData.parse(#"{"user_id":"\#(id128)"}"#).userID == id128)
        #expect(throws: CoreError.userIDTooLong) { try ChannelData.parse(#"{"user_id":"\#(id128)u"}"#) }
    }

    @Test("user_info of 1024 JSON bytes passes and 1025 fails")
    func userInfoSize() throws {
        // {"k":"…"} is 8 bytes of framing around the value.
        let fits = JSONValue.object(["k": .string(String(repeating: "x", count: 1016))])
        let over = JSONValue.object(["k": .string(String(repeating: "x", count: 1017))])
        #expect(fits.jsonText.utf8.count == 1024)
        #expect(try ChannelData.make(userID: "1", userInfo: fits).hasSuffix(fits.jsonText + "}"))
        #expect(throws: CoreError.userInfoTooLarge) { try ChannelData.make(userID: "1", userInfo: over) }
        #expect(try ChannelData.parse(#"{"user_id":"1","user_info":\#(fits.jsonText)}"#).userInfo == fits)
        #expect(throws: CoreError.userInfoTooLarge) { try ChannelData.parse(#"{"user_id":"1","user_info":\#(over.jsonText)}"#) }
    }

    @Test("limits are configurable")
    func customLimits() throws {
        let limits = PresenceLimits(maxMembers: 5, maxUserInfoBytes: 10, maxUserIDLength: 2)
        #expect(
            try ChannelData.make(userID: "ab", userInfo: .object(["a": .integer(1)]), limits: limits)
                == #"{"user_id":"ab","user_info":{"a":1}}"#)
        #expect(throws: CoreError.userIDTooLong) { try ChannelData.make(userID: "abc", userInfo: nil, limits: limits) }
        #expect(throws: CoreError.userInfoTooLarge) {
            try ChannelData.make(userID: "ab", userInfo: .object(["a": .string("12345")]), limits: limits)
        }
    }

    @Test("refuses an empty user id and a user_info that is not an object")
    func makeRejects() {
        #expect(throws: CoreError.missingUserID) { try ChannelData.make(userID: "", userInfo: nil) }
        #expect(throws: CoreError.invalidUserInfo) { try ChannelData.make(userID: "1", userInfo: .string("x")) }
        #expect(throws: CoreError.invalidUserInfo) { try ChannelData.make(userID: "1", userInfo: .array([])) }
    }

    @Test(
        "reads the SDKs' texts, an integer id as its JSON text",
        arguments: [
            (#"{"user_id":10,"user_info":{"name":"Mr. Channels"}}"#, "10", JSONValue.object(["name": .string("Mr. Channels")])),
            (#"{"user_id": 10, "user_info": {"name": "Mr. Channels"}}"#, "10", .object(["name": .string("Mr. Channels")])),
            (#"{"user_id": "u1", "user_info": {"name": "Zo\u00eb"}}"#, "u1", .object(["name": .string("Zoë")])),
            (#"{"user_id":-7,"user_info":{}}"#, "-7", .object([:])),
        ]
    )
    func parses(text: String, userID: String, userInfo: JSONValue) throws {
        let member = try ChannelData.parse(text)
        #expect(member.userID == userID)
        #expect(member.userInfo == userInfo)
    }

    @Test("a missing or null user_info is absent; extra members are ignored")
    func parsesOptional() throws {
        #expect(try ChannelData.parse(#"{"user_id":"42"}"#).userInfo == nil)
        #expect(try ChannelData.parse(#"{"user_id":"42","user_info":null,"extra":[1]}"#).userInfo == nil)
    }

    @Test(
        "refuses malformed channel_data",
        arguments: [
            (#"not json"#, CoreError.invalidChannelData),
            (#"[{"user_id":"1"}]"#, .invalidChannelData),
            (#""{\"user_id\":\"1\"}""#, .invalidChannelData),
            (#"{"user_id":"1"} trailing"#, .invalidChannelData),
            (#"{"user_id":1.5}"#, .invalidChannelData),
            (#"{"user_id":true}"#, .invalidChannelData),
            (#"{"user_id":["1"]}"#, .invalidChannelData),
            (#"{"user_id":{}}"#, .invalidChannelData),
            (#"{}"#, .missingUserID),
            (#"{"user_id":null}"#, .missingUserID),
            (#"{"user_id":""}"#, .missingUserID),
            (#"{"user_id":"1","user_info":"Ann"}"#, .invalidUserInfo),
            (#"{"user_id":"1","user_info":[1]}"#, .invalidUserInfo),
        ]
    )
    func parseRejects(text: String, error: CoreError) {
        #expect(throws: error) { try ChannelData.parse(text) }
    }

    @Test("refuses hostile raw text before parsing it")
    func hugeText() {
        let text = #"{"user_id":"1","pad":""# + String(repeating: " ", count: 1_000_000) + #""}"#
        #expect(throws: CoreError.userInfoTooLarge) { try ChannelData.parse(text) }
    }

    @Test("made channel_data reads back to the same member")
    func roundTrip() throws {
        let info = JSONValue.object(["name": .string("Ann \"A\" </b>"), "tags": .array([.string("x")])])
        let member = try ChannelData.parse(ChannelData.make(userID: "ü-1", userInfo: info))
        #expect(member.userID == "ü-1")
        #expect(member.userInfo == info)
    }
}
