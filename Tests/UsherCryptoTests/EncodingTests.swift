import Foundation
import Testing
@testable import UsherCrypto

@Suite struct EncodingTests {
    static func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }

    @Test("hex round-trips every length from 0 to 70, always lowercase", arguments: 0...70)
    func hexRoundTrip(length: Int) {
        let bytes = Self.randomBytes(length)
        let text = Hex.encode(bytes)
        #expect(text.count == length * 2)
        #expect(text == text.lowercased())
        #expect(Hex.decode(text) == bytes)
        #expect(Hex.decode(text.uppercased()) == bytes)
    }

    @Test("hex decoding refuses odd lengths and non-hex characters", arguments: ["0", "abc", "zz", "0x12", " 12", "12 ", "1g", "é0", "+1"])
    func hexInvalid(text: String) {
        #expect(Hex.decode(text) == nil)
    }

    @Test("base64 and base64url agree with Foundation for every length from 0 to 70", arguments: 0...70)
    func base64RoundTrip(length: Int) {
        let bytes = Self.randomBytes(length)
        let foundation = Data(bytes).base64EncodedString()
        #expect(Base64.encode(bytes) == foundation)
        #expect(Base64.decode(foundation) == bytes)
        let url = foundation.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        #expect(Base64.urlEncode(bytes) == url)
        #expect(Base64.urlDecode(url) == bytes)
    }

    @Test("RFC 4648 §10 vectors", arguments: [
        ("", "", ""), ("f", "Zg==", "Zg"), ("fo", "Zm8=", "Zm8"), ("foo", "Zm9v", "Zm9v"),
        ("foob", "Zm9vYg==", "Zm9vYg"), ("fooba", "Zm9vYmE=", "Zm9vYmE"), ("foobar", "Zm9vYmFy", "Zm9vYmFy"),
    ])
    func rfc4648(plain: String, standard: String, url: String) {
        #expect(Base64.encode(Array(plain.utf8)) == standard)
        #expect(Base64.urlEncode(Array(plain.utf8)) == url)
        #expect(Base64.decode(standard) == Array(plain.utf8))
        #expect(Base64.urlDecode(url) == Array(plain.utf8))
    }

    @Test("the two alphabets differ only in characters 62 and 63")
    func alphabets() {
        #expect(Base64.encode([0xFB, 0xFF, 0xBF]) == "+/+/")
        #expect(Base64.urlEncode([0xFB, 0xFF, 0xBF]) == "-_-_")
        #expect(Base64.urlDecode("-_-_") == [0xFB, 0xFF, 0xBF])
        #expect(Base64.decode("-_-_") == nil)
        #expect(Base64.urlDecode("+/+/") == nil)
    }

    @Test("standard base64 refuses bad characters, wrong padding and non-canonical trailing bits", arguments: [
        "Zg", "Zg=", "Zg===", "Z===", "====", "=Zg=", "Zg=A", "Zh==", "Zm9=", "Zm9v\n", "Zm9 v", "Zm-v", "Zm_v", "Zm9v====", "Zé==",
    ])
    func base64Invalid(text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test("base64url refuses padding, bad characters, one-character groups and non-canonical trailing bits", arguments: [
        "Zg==", "Zg=", "Z", "Zm9vY", "Zh", "Zm9", "Zm+v", "Zm/v", "Zm9 v", "Zm9v.", "Zé",
    ])
    func base64URLInvalid(text: String) {
        #expect(Base64.urlDecode(text) == nil)
    }

    @Test("constant-time equality compares contents and lengths")
    func constantTime() {
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
        #expect(ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 4] as [UInt8]))
        #expect(!ConstantTime.equals([9, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
        #expect(!ConstantTime.equals([UInt8](), [0] as [UInt8]))
        #expect(ConstantTime.equals(Array("abc".utf8), Data("abc".utf8)))
        #expect(ConstantTime.equals([0, 1, 2, 3][1...] as ArraySlice<UInt8>, [1, 2, 3] as [UInt8]))
    }

    @Test("secure random returns the requested length", arguments: [0, 1, 16, 32, 33, 1000])
    func randomLength(count: Int) {
        #expect(SecureRandom.bytes(count: count).count == count)
    }

    @Test("secure random never repeats and covers the byte range")
    func randomQuality() {
        let draws = (0..<200).map { _ in SecureRandom.bytes(count: 16) }
        #expect(Set(draws).count == draws.count)
        #expect(Set(SecureRandom.bytes(count: 4096)).count > 240)
        #expect(SecureRandom.bytes(count: 64) != [UInt8](repeating: 0, count: 64))
    }
}
