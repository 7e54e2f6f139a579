import Testing
@testable import UsherCrypto

/// `JSONValue.parse` against the implementation it replaced (`LegacyJSONParse`: Foundation's decoder after the old
/// strictness pre-scan), on seeded random documents and mutations of them.
@Suite struct JSONParserDifferentialTests {
    @Test("accepts and refuses what Foundation's decoder and the old pre-scan did, with identical values")
    func matchesLegacyParse() {
        var mismatches = 0
        var accepted = 0
        var checked = 0
        for seed: UInt64 in 1...1_500 {
            var generator = JSONDocumentGenerator(seed: seed)
            let document = generator.document()
            for variant in 0..<16 {
                let bytes = variant == 0 ? document : generator.mutate(document)
                let parsed = try? JSONValue.parse(bytes: bytes)
                checked += 1
                // The one deliberate difference: UTF-16 and UTF-32 are refused, as RFC 8259 §8.1 allows.
                let expected = LegacyJSONParse.readsAsUTF16OrUTF32(bytes) ? nil : LegacyJSONParse.value(of: bytes)
                if expected != nil { accepted += 1 }
                guard !parsed.isIdentical(to: expected) else { continue }
                mismatches += 1
                let text = String(decoding: bytes, as: UTF8.self).debugDescription
                let found = String(describing: parsed)
                Issue.record("seed \(seed) variant \(variant), \(text): parsed \(found), expected \(String(describing: expected))")
                if mismatches == 10 { return }
            }
        }
        // Both sides of every rule are exercised: a generator that only made garbage would prove nothing.
        #expect(accepted > checked / 20)
        #expect(accepted < checked * 9 / 10)
    }
}
