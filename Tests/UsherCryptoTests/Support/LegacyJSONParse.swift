import Foundation
@testable import UsherCrypto

/// How `JSONValue.parse` decided before `JSONParser` replaced it, kept as the reference the differential test
/// compares against: Foundation's `JSONDecoder` through `JSONValue.init(from:)`, after this structural pre-scan.
enum LegacyJSONParse {
    /// The value the old `JSONValue.parse(bytes:)` returned, or `nil` where it threw.
    ///
    /// Never give it a number whose `Double` is an integer from 2⁵³ to 2⁶³ written with an exponent beyond what
    /// `Decimal` holds (e.g. 200 zeros then `e-200`): `JSONDecoder` fails a precondition on those and kills the process.
    static func value(of bytes: [UInt8]) -> JSONValue? {
        if LegacyJSONStrictness.violation(in: bytes) != nil { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// Whether `JSONDecoder` would read `bytes` as UTF-16 or UTF-32 (by byte order mark or by where the zero bytes
    /// fall), as it did and `JSONValue.parse` no longer does: RFC 8259 §8.1 requires UTF-8.
    static func readsAsUTF16OrUTF32(_ bytes: [UInt8]) -> Bool {
        let head = (0..<4).map { $0 < bytes.count ? bytes[$0] : nil } as [UInt8?]
        switch (head[0], head[1], head[2], head[3]) {
        case (0xFE, 0xFF, _, _), (0xFF, 0xFE, _, _): return true
        case (0, 0, 0, let last?) where last != 0: return true
        case (0, let second?, 0, let last?) where second != 0 && last != 0: return true
        case (let first?, 0, 0, 0) where first != 0: return true
        case (let first?, 0, let third?, 0) where first != 0 && third != 0: return true
        case (0, let second?, nil, nil) where second != 0: return true
        case (let first?, 0, nil, nil) where first != 0: return true
        default: return false
        }
    }
}

/// The pre-scan the old `JSONValue.parse` ran before `JSONDecoder`, unchanged: it refused what Foundation's decoder
/// lets through and `JSONValue` must not, trailing commas and duplicate member names.
enum LegacyJSONStrictness {
    /// Why `bytes` must be refused, or `nil`. A structural pre-scan only: everything else is the decoder's job.
    static func violation(in bytes: [UInt8]) -> String? {
        // One frame per open container: the member names seen so far, or `nil` for an array.
        var frames: [Set<String>?] = []
        var expectingName = false
        var afterComma = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                index += 1
                continue
            case UInt8(ascii: "\""):
                let start = index + 1
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                if expectingName, case .some(.some(var names)) = frames.last {
                    guard let name = memberName(bytes[start..<min(index, bytes.count)]) else { return nil }
                    guard names.insert(name).inserted else { return "duplicate member name" }
                    frames[frames.count - 1] = names
                }
                expectingName = false
            case UInt8(ascii: "{"):
                frames.append([])
                expectingName = true
            case UInt8(ascii: "["):
                frames.append(nil)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if afterComma { return "trailing comma" }
                if !frames.isEmpty { frames.removeLast() }
                expectingName = false
            case UInt8(ascii: ","):
                if case .some(.some) = frames.last { expectingName = true }
            default:
                break
            }
            afterComma = byte == UInt8(ascii: ",")
            index += 1
        }
        return nil
    }

    /// The unescaped name; `nil` when it does not decode (the decoder then reports the error).
    private static func memberName(_ raw: ArraySlice<UInt8>) -> String? {
        guard raw.contains(UInt8(ascii: "\\")) else { return String(decoding: raw, as: UTF8.self) }
        return try? JSONDecoder().decode(String.self, from: Data([UInt8(ascii: "\"")] + raw + [UInt8(ascii: "\"")]))
    }
}
