import Testing
@testable import UsherCrypto

@Suite struct DigestTests {
    @Test("SHA-256 matches FIPS 180-2 known answers", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256(input: String, expected: String) {
        #expect(Hex.encode(SHA256.hash(Array(input.utf8))) == expected)
    }

    @Test("SHA-256 of a million 'a' bytes")
    func sha256Million() {
        let digest = SHA256.hash(Array(repeating: UInt8(ascii: "a"), count: 1_000_000))
        #expect(Hex.encode(digest) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("MD5 matches the body_md5 constants Pusher signs", arguments: [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("{}", "99914b932bd37a50b983c5e7c90ae93b"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        (#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#, "ec365a775a4cd0599faeb73354201b6f"),
    ])
    func md5(input: String, expected: String) {
        #expect(Hex.encode(MD5.hash(Array(input.utf8))) == expected)
    }

    @Test("V8: an encrypted channel's shared secret is base64(SHA-256(channel ‖ master key))")
    func encryptedChannelSharedSecret() {
        let input = Array("private-encrypted-foobar".utf8) + Array("01234567890123456789012345678901".utf8)
        #expect(Base64.encode(SHA256.hash(input)) == "Uedy6frF2/3cz/oMziDQ0pGdahMvE50/N0xZ8eKYEIg=")
    }

    @Test("digests accept any byte collection and have fixed sizes")
    func sizes() {
        let bytes: [UInt8] = Array("slice me".utf8)
        #expect(SHA256.hash(bytes[1...]) == SHA256.hash(Array(bytes[1...])))
        #expect(SHA256.hash([UInt8]()).count == 32)
        #expect(MD5.hash([UInt8]()).count == 16)
    }
}
