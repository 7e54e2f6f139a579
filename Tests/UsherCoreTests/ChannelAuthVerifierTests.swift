import Testing
import UsherCore
import UsherCrypto

@Suite struct ChannelAuthVerifierTests {
    static let privateAuth = "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"

    private func verifyPrivate(_ auth: String, verifier: ChannelAuthVerifier = Fixtures.verifier) throws -> Bool {
        verifier.verify(
            auth: auth, socketID: try Fixtures.socket(), channel: try Fixtures.channel("private-foobar"), channelData: nil)
    }

    @Test("V1 verifies")
    func accepts() throws {
        #expect(try verifyPrivate(Self.privateAuth))
    }

    @Test("every single flipped hex character fails")
    func flippedCharacters() throws {
        let colon = Self.privateAuth.firstIndex(of: ":")!
        let prefix = String(Self.privateAuth[...colon])
        let hex = Array(Self.privateAuth[Self.privateAuth.index(after: colon)...])
        for position in hex.indices {
            var flipped = hex
            flipped[position] = flipped[position] == "0" ? "1" : "0"
            #expect(try !verifyPrivate(prefix + String(flipped)), "position \(position)")
        }
    }

    @Test(
        "malformed, truncated, upper-case and wrong-key auth strings fail",
        arguments: [
            String(ChannelAuthVerifierTests.privateAuth.dropLast()),
            String(ChannelAuthVerifierTests.privateAuth.dropLast(32)),
            ChannelAuthVerifierTests.privateAuth + "0",
            "278d425bdf160c739803:" + "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4".uppercased(),
            "278d425bdf160c739804:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
            "278D425BDF160C739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
            ":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
            "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
            "278d425bdf160c739803:",
            "278d425bdf160c739803",
            "",
            " 278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
            "278d425bdf160c739803::58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
        ]
    )
    func rejects(auth: String) throws {
        #expect(try !verifyPrivate(auth))
    }

    @Test("a signature for another socket, channel or channel_data fails")
    func boundToInputs() throws {
        let verifier = Fixtures.verifier
        let channel = try Fixtures.channel("private-foobar")
        #expect(
            !verifier.verify(
                auth: Self.privateAuth, socketID: try Fixtures.socket("1234.1235"), channel: channel, channelData: nil))
        #expect(
            !verifier.verify(
                auth: Self.privateAuth, socketID: try Fixtures.socket(), channel: try Fixtures.channel("private-foobaz"),
                channelData: nil))
        #expect(!verifier.verify(auth: Self.privateAuth, socketID: try Fixtures.socket(), channel: channel, channelData: "{}"))
    }

    @Test("presence verification uses the exact channel_data text (V3 Python spacing)")
    func presenceText() throws {
        let auth = "278d425bdf160c739803:5b8808f3035fec2e4157c6b430a06d5b0de16d174e1a779e0e2b64d9983bde27"
        let channel = try Fixtures.channel("presence-foobar")
        let python = #"{"user_id": 10, "user_info": {"name": "Mr. Channels"}}"#
        let compact = #"{"user_id":10,"user_info":{"name":"Mr. Channels"}}"#
        #expect(Fixtures.verifier.verify(auth: auth, socketID: try Fixtures.socket(), channel: channel, channelData: python))
        #expect(!Fixtures.verifier.verify(auth: auth, socketID: try Fixtures.socket(), channel: channel, channelData: compact))
    }

    @Test("V7 sign-in verifies, and not as a channel signature")
    func signIn() throws {
        let auth = "278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
        #expect(Fixtures.verifier.verify(auth: auth, socketID: try Fixtures.socket(), userData: #"{"id":"12345"}"#))
        #expect(!Fixtures.verifier.verify(auth: auth, socketID: try Fixtures.socket(), userData: #"{"id":"12346"}"#))
    }

    @Test("any of several secrets verifies; an unlisted secret does not")
    func rotation() throws {
        let other = HMACKey(secret: Array("another-secret-of-some-length-000".utf8))
        #expect(
            try verifyPrivate(
                Self.privateAuth, verifier: ChannelAuthVerifier(appKey: Fixtures.appKey, secrets: [other, Fixtures.secret])))
        #expect(try !verifyPrivate(Self.privateAuth, verifier: ChannelAuthVerifier(appKey: Fixtures.appKey, secrets: [other])))
        #expect(try !verifyPrivate(Self.privateAuth, verifier: ChannelAuthVerifier(appKey: Fixtures.appKey, secrets: [])))
    }

    @Test("an auth string signed with the app key's look-alike is refused")
    func keyLookAlike() throws {
        // U+212A KELVIN SIGN is canonically equivalent to "K": String == would call these keys equal.
        let verifier = ChannelAuthVerifier(appKey: "KEY12345", secrets: [Fixtures.secret])
        let authorizer = try ChannelAuthorizer(appKey: "\u{212A}EY12345", secret: Fixtures.secret)
        let answer = try authorizer.authorize(socketID: try Fixtures.socket(), channel: try Fixtures.channel("private-foobar"))
        #expect(
            !verifier.verify(
                auth: answer.auth, socketID: try Fixtures.socket(), channel: try Fixtures.channel("private-foobar"),
                channelData: nil))
    }
}
