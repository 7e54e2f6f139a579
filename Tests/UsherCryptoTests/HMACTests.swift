import Testing
@testable import UsherCrypto

/// HMAC-SHA256 written from RFC 2104 on top of `SHA256.hash`: a reference that shares no code with the
/// cached `EVP_MAC` contexts behind `HMACKey`.
func referenceHMAC(key: [UInt8], message: [UInt8]) -> [UInt8] {
    var block = key.count > 64 ? SHA256.hash(key) : key
    block += Array(repeating: 0, count: 64 - block.count)
    let inner = SHA256.hash(block.map { $0 ^ 0x36 } + message)
    return SHA256.hash(block.map { $0 ^ 0x5C } + inner)
}

@Suite struct HMACTests {
    static let pusher = HMACKey(secret: "7ad3773142a6692b25b8")

    /// PUSHER-PROTOCOL.md §11 (string-to-sign → signature with the test app's secret).
    static let pusherVectors: [(String, String)] = [
        ("1234.1234:private-foobar", "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"),
        (#"1234.1234:presence-foobar:{"user_id":10,"user_info":{"name":"Mr. Channels"}}"#,
         "31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80"),
        (#"1234.1234:presence-foobar:{"user_id":"u1","user_info":{"name":"Zoë"}}"#,
         "33258a64848571fedc71214763028e2893c8cbec6106f220448bcefae7c3d5ed"),
        (#"1234.1234::user::{"id":"12345"}"#, "4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"),
        ("1234.1234:private-encrypted-foobar", "e6a18892d037c5d5e76a2265df4f086ffc38631605530dfd214aa5bff495f533"),
        ("POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f",
         "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"),
        ("GET\n/apps/3/channels\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=d41d8cd98f00b204e9800998ecf8427e&filter_by_prefix=presence-&info=user_count",
         "f3f17c61ae491cc9085db68b22076e9b772e3bcb301659d655153ee3f9782aba"),
        ("GET\n/apps/3/channels\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count",
         "16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291"),
        (#"{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"test_channel"}]}"#,
         "709fdb84c03664445f7698120b0edf0acc1ab1c8c6e93a0368c61841d6b998aa"),
        (#"{"time_ms":1327078148132,"events":[{"name":"member_added","channel":"presence-foobar","user_id":"42"}]}"#,
         "792d1a1d03fe02f62d7705d6850a62e2e6b8799398274831cb466d6187b585e1"),
    ]

    @Test("matches the Pusher known-answer vectors", arguments: pusherVectors)
    func pusherVector(message: String, expected: String) {
        #expect(Self.pusher.hexMAC(message) == expected)
        #expect(Self.pusher.hexMAC(Array(message.utf8)) == expected)
        #expect(Hex.encode(Self.pusher.mac(message)) == expected)
        #expect(Self.pusher.isValid(hexMAC: Substring(expected), for: message))
    }

    @Test("matches RFC 4231 test cases 2 (short key) and 6 (key longer than a block)")
    func rfc4231() {
        #expect(HMACKey(secret: "Jefe").hexMAC("what do ya want for nothing?")
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        let longKey = HMACKey(secret: Array(repeating: 0xAA, count: 131))
        #expect(longKey.hexMAC("Test Using Larger Than Block-Size Key - Hash Key First")
            == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test("the reference HMAC agrees with RFC 4231, so later comparisons mean something")
    func referenceIsSound() {
        let mac = referenceHMAC(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Hex.encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("MACs an empty message, with and without an empty key")
    func emptyMessage() {
        #expect(Self.pusher.hexMAC("") == "f92b07dd13def8d24fb329693d44d5c046b416b553728fde26a187adfa9a1987")
        #expect(Self.pusher.hexMAC([UInt8]()) == "f92b07dd13def8d24fb329693d44d5c046b416b553728fde26a187adfa9a1987")
        #expect(HMACKey(secret: []).hexMAC("") == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    @Test("gives the same answer on every call, message after message")
    func repeatable() {
        let key = HMACKey(secret: "repeat-me")
        for round in 0..<3 {
            for length in [0, 1, 55, 56, 63, 64, 65, 1000] {
                let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &+ round) }
                #expect(key.mac(message) == referenceHMAC(key: Array("repeat-me".utf8), message: message))
            }
        }
    }

    @Test("isValid accepts only the exact lowercase signature")
    func isValid() {
        let message = "1234.1234:private-foobar"
        let good = "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
        var flipped = Array(good.utf8)
        flipped[10] = flipped[10] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        #expect(Self.pusher.isValid(hexMAC: Substring(good), for: message))
        #expect(!Self.pusher.isValid(hexMAC: Substring(good.uppercased()), for: message))
        #expect(!Self.pusher.isValid(hexMAC: good.dropLast(), for: message))
        #expect(!Self.pusher.isValid(hexMAC: Substring(good + "0"), for: message))
        #expect(!Self.pusher.isValid(hexMAC: Substring(String(decoding: flipped, as: UTF8.self)), for: message))
        #expect(!Self.pusher.isValid(hexMAC: "", for: message))
        #expect(!Self.pusher.isValid(hexMAC: Substring(good), for: message + " "))
        #expect(!HMACKey(secret: "another-secret").isValid(hexMAC: Substring(good), for: message))
    }

    @Test("never shows the secret in its description")
    func redacted() {
        let key = HMACKey(secret: "7ad3773142a6692b25b8")
        #expect(!"\(key)".contains("7ad3"))
        #expect(key.withUnsafeSecret { Array($0) } == Array("7ad3773142a6692b25b8".utf8))
    }
}
