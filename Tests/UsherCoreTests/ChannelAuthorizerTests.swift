import Testing
import UsherCore
import UsherCrypto

/// Known answers from PUSHER-PROTOCOL.md §11, produced by pusher-http-python 3.3.4 and pusher-http-node 5.3.3.
@Suite struct ChannelAuthorizerTests {
    @Test("V1: private channel auth and response body")
    func privateVector() throws {
        let answer = try Fixtures.authorizer().authorize(socketID: Fixtures.socket(), channel: Fixtures.channel("private-foobar"))
        let auth = "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
        #expect(answer.auth == auth)
        #expect(answer.jsonBody == #"{"auth":"\#(auth)"}"#)
        #expect(answer.channelData == nil && answer.sharedSecret == nil && answer.userData == nil)
    }

    @Test(
        "V2, V3, V5, V6: presence auth signs the channel_data text byte for byte",
        arguments: [
            (
                "1234.1234", "presence-foobar", #"{"user_id":10,"user_info":{"name":"Mr. Channels"}}"#,
                "31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80"
            ),
            (
                "1234.1234", "presence-foobar", #"{"user_id": 10, "user_info": {"name": "Mr. Channels"}}"#,
                "5b8808f3035fec2e4157c6b430a06d5b0de16d174e1a779e0e2b64d9983bde27"
            ),
            (
                "123.456", "presence-room", #"{"user_id":"42"}"#,
                "df99d5bde6eaa860dcc76115393e46448962d93c6727592479b34fd932390dcc"
            ),
            (
                "1234.1234", "presence-foobar", #"{"user_id":"u1","user_info":{"name":"Zoë"}}"#,
                "33258a64848571fedc71214763028e2893c8cbec6106f220448bcefae7c3d5ed"
            ),
            (
                "1234.1234", "presence-foobar", #"{"user_id": "u1", "user_info": {"name": "Zo\u00eb"}}"#,
                "f2eb679ed949a4e5ee476e0e7226e993ef37958690808c27f642baaea7fb1d5e"
            ),
        ]
    )
    func presenceVectors(socket: String, channel: String, channelData: String, hex: String) throws {
        let answer = try Fixtures.authorizer().authorize(
            socketID: Fixtures.socket(socket), channel: Fixtures.channel(channel), channelData: channelData
        )
        #expect(answer.auth == "278d425bdf160c739803:" + hex)
        #expect(answer.channelData == channelData)
        #expect(Array(answer.channelData?.utf8 ?? "".utf8) == Array(channelData.utf8))
        // The body must carry the signed text as a JSON string whose decoded value is the exact input.
        let body = try JSONValue.parse(answer.jsonBody)
        #expect(body["channel_data"]?.stringValue == channelData)
        #expect(body["auth"]?.stringValue == answer.auth)
        #expect(answer.jsonBody.hasPrefix(#"{"auth":"278d425bdf160c739803:\#(hex)","channel_data":""#))
    }

    @Test("V2: presence response body escapes the channel_data text as pusher-js expects")
    func presenceBody() throws {
        let data = #"{"user_id":10,"user_info":{"name":"Mr. Channels"}}"#
        let answer = try Fixtures.authorizer().authorizePresence(
            socketID: Fixtures.socket(), channel: Fixtures.channel("presence-foobar"), channelData: data
        )
        let expected =
            #"{"auth":"278d425bdf160c739803:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80","#
            + #""channel_data":"{\"user_id\":10,\"user_info\":{\"name\":\"Mr. Channels\"}}"}"#
        #expect(answer.jsonBody == expected)
    }

    @Test("V8: encrypted channel auth and shared_secret from the decoded master key bytes")
    func encryptedVector() throws {
        let answer = try Fixtures.authorizer().authorize(
            socketID: Fixtures.socket(), channel: Fixtures.channel("private-encrypted-foobar")
        )
        let auth = "278d425bdf160c739803:e6a18892d037c5d5e76a2265df4f086ffc38631605530dfd214aa5bff495f533"
        let sharedSecret = "Uedy6frF2/3cz/oMziDQ0pGdahMvE50/N0xZ8eKYEIg="
        #expect(answer.auth == auth)
        #expect(answer.sharedSecret == sharedSecret)
        #expect(answer.jsonBody == #"{"auth":"\#(auth)","shared_secret":"\#(sharedSecret)"}"#)
    }

    @Test("V7: user sign-in auth and response body")
    func signInVector() throws {
        let answer = try Fixtures.authorizer().signIn(socketID: Fixtures.socket(), userData: #"{"id":"12345"}"#)
        let auth = "278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
        #expect(answer.auth == auth)
        #expect(answer.userData == #"{"id":"12345"}"#)
        #expect(answer.jsonBody == #"{"auth":"\#(auth)","user_data":"{\"id\":\"12345\"}"}"#)
    }

    @Test("refuses encrypted channels when the app has no master key")
    func encryptedWithoutKey() throws {
        let authorizer = try Fixtures.authorizer(masterKey: nil)
        let channel = try Fixtures.channel("private-encrypted-foobar")
        #expect(throws: CoreError.noEncryptionMasterKey) {
            try authorizer.authorize(socketID: Fixtures.socket(), channel: channel)
        }
    }

    @Test("refuses a master key that is not 32 bytes", arguments: [0, 16, 31, 33, 44])
    func masterKeyLength(count: Int) {
        #expect(throws: CoreError.invalidEncryptionMasterKey) {
            try ChannelAuthorizer(
                appKey: Fixtures.appKey, secret: Fixtures.secret, encryptionMasterKey: [UInt8](repeating: 1, count: count))
        }
    }

    @Test(
        "refuses public and server-to-user channels",
        arguments: [
            ("cache-foo", CoreError.publicChannel), ("public", .publicChannel), ("#server-to-user-1", .forbiddenChannel),
        ])
    func refusesKinds(name: String, error: CoreError) throws {
        let authorizer = try Fixtures.authorizer()
        let channel = try Fixtures.channel(name)
        #expect(throws: error) { try authorizer.authorize(socketID: Fixtures.socket(), channel: channel) }
    }

    @Test("requires channel_data for presence and refuses it elsewhere")
    func channelDataPlacement() throws {
        let authorizer = try Fixtures.authorizer()
        let socket = try Fixtures.socket()
        #expect(throws: CoreError.invalidChannelData) {
            try authorizer.authorize(socketID: socket, channel: Fixtures.channel("presence-room"))
        }
        for name in ["private-room", "private-encrypted-room"] {
            let channel = try Fixtures.channel(name)
            #expect(throws: CoreError.invalidChannelData) {
                try authorizer.authorize(socketID: socket, channel: channel, channelData: #"{"user_id":"1"}"#)
            }
        }
    }

    @Test("kind-specific functions refuse other kinds, so an encrypted channel never lacks its shared secret")
    func kindSpecific() throws {
        let authorizer = try Fixtures.authorizer()
        let socket = try Fixtures.socket()
        let encrypted = try Fixtures.channel("private-encrypted-x")
        let privateChannel = try Fixtures.channel("private-x")
        #expect(throws: CoreError.invalidChannelName) { try authorizer.authorizePrivate(socketID: socket, channel: encrypted) }
        #expect(throws: CoreError.invalidChannelName) {
            try authorizer.authorizeEncrypted(socketID: socket, channel: privateChannel)
        }
        #expect(throws: CoreError.invalidChannelName) {
            try authorizer.authorizePresence(socketID: socket, channel: privateChannel, channelData: "{}")
        }
    }

    @Test("two sockets of one user get different signatures, each bound to its own socket")
    func secondSocket() throws {
        let authorizer = try Fixtures.authorizer()
        let channel = try Fixtures.channel("presence-room")
        let data = try ChannelData.make(userID: "7", userInfo: nil)
        let first = try authorizer.authorize(socketID: Fixtures.socket("1.1"), channel: channel, channelData: data)
        let second = try authorizer.authorize(socketID: Fixtures.socket("1.2"), channel: channel, channelData: data)
        #expect(first.auth != second.auth)
        #expect(
            Fixtures.verifier.verify(auth: second.auth, socketID: try Fixtures.socket("1.2"), channel: channel, channelData: data)
        )
        #expect(
            !Fixtures.verifier.verify(auth: first.auth, socketID: try Fixtures.socket("1.2"), channel: channel, channelData: data)
        )
    }
}
