import Foundation

/// What Foundation's JSON decoder lets through and `JSONValue` must not: trailing commas (`[1,]`, which
/// RFC 8259 forbids) and duplicate member names, of which Foundation keeps the *first* while jansson (libjwt's
/// parser), JavaScript and Python keep the last. RFC 7519 §4 requires a JWT parser to reject duplicates or keep
/// the last; rejecting them keeps every parser in the process agreeing on what a token says.
enum JSONStrictness {
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
