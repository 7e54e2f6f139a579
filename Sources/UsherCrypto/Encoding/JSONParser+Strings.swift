extension JSONParser {
    /// Reads the string literal whose opening quote is at `index`.
    ///
    /// Refused, as JSONDecoder refused them: unescaped control characters (U+0000–U+001F), invalid UTF-8, unknown
    /// escapes, `\u` without four hex digits, and surrogate escapes that do not form a pair (a lone `\uD800`, a lone
    /// `\uDC00`, or a high surrogate followed by anything but a low one).
    mutating func parseString() throws -> String {
        let content = try parseStringBytes()
        return withContent(content) { String(decoding: $0, as: UTF8.self) }
    }

    /// Reads the string literal whose opening quote is at `index` as ``parseString()`` does, without making a
    /// `String`: its content is bytes of the document when it has no escapes (`inDocument`), otherwise it is rebuilt
    /// in `unescaped` (emptied first). Sets `lastStringIsPlainASCII`.
    ///
    /// - Returns: The content's range in the document or in `unescaped` (read it with ``withContent(_:_:)``).
    mutating func parseStringBytes() throws -> (range: Range<Int>, inDocument: Bool) {
        index += 1
        let start = index
        let seen = skipPlainBytes()
        guard index < bytes.count else { throw failure("unterminated string") }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            let range = start..<index
            guard Self.isValid(UnsafeBufferPointer(rebasing: bytes[range]), seen: seen) else { throw failure("invalid UTF-8") }
            index += 1
            lastStringIsPlainASCII = seen & 0x8080_8080_8080_8080 == 0
            return (range, true)
        case UInt8(ascii: "\\"):
            lastStringIsPlainASCII = false
            unescaped.removeAll(keepingCapacity: true)
            return (try unescapeString(from: start, seen: seen), false)
        default:
            throw failure("control character in string")
        }
    }

    /// Lends the bytes of a string's content as ``parseStringBytes()`` answered it (valid until the next string).
    func withContent<R>(_ content: (range: Range<Int>, inDocument: Bool), _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if content.inDocument { return try body(UnsafeBufferPointer(rebasing: bytes[content.range])) }
        return try unescaped.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[content.range])) }
    }

    /// Appends the string from `start` (its content's first byte) to `unescaped`, unescaping from the backslash at
    /// `index`, and validates what it appended. Validating once is equivalent to validating each run between escapes,
    /// since an escape always appends a whole UTF-8 sequence: a run's broken sequence stays broken next to it.
    ///
    /// - Returns: The range appended to `unescaped`.
    private mutating func unescapeString(from start: Int, seen: UInt64) throws -> Range<Int> {
        var seen = seen
        let first = unescaped.count
        unescaped.append(contentsOf: bytes[start..<index])
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                let range = first..<unescaped.count
                guard unescaped.withUnsafeBufferPointer({ Self.isValid(UnsafeBufferPointer(rebasing: $0[range]), seen: seen) }) else {
                    throw failure("invalid UTF-8")
                }
                index += 1
                return range
            case UInt8(ascii: "\\"):
                index += 1
                try parseEscape()
            default:
                throw failure("control character in string")
            }
            let run = index
            seen |= skipPlainBytes()
            unescaped.append(contentsOf: bytes[run..<index])
        }
        throw failure("unterminated string")
    }

    /// Whether `content`, whose raw (unescaped) bytes OR to `seen`, is valid UTF-8: ASCII needs no check, and
    /// neither do escapes, which always make whole UTF-8 sequences.
    private static func isValid(_ content: UnsafeBufferPointer<UInt8>, seen: UInt64) -> Bool {
        seen & 0x8080_8080_8080_8080 == 0 || String(validating: content, as: UTF8.self) != nil
    }

    /// Advances over string bytes that are not a quote, a backslash or a control character, eight at a time where it
    /// can; returns the bytes OR-ed together, so the caller knows whether any was non-ASCII.
    private mutating func skipPlainBytes() -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        var seen: UInt64 = 0
        if let base = bytes.baseAddress {
            while bytes.count - index >= 8 {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                let quotes = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
                let backslashes = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
                // Nonzero exactly when some byte is zero (quote, backslash) or below 0x20 (control).
                let special = ((quotes &- ones) & ~quotes) | ((backslashes &- ones) & ~backslashes)
                    | ((word &- ones &* 0x20) & ~word)
                guard special & 0x8080_8080_8080_8080 == 0 else { break }
                seen |= word
                index += 8
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            guard byte >= 0x20, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") else { break }
            seen |= UInt64(byte)
            index += 1
        }
        return seen
    }

    /// Appends the character escaped by the sequence after a backslash.
    private mutating func parseEscape() throws {
        guard index < bytes.count else { throw failure("unterminated string") }
        let escaped: UInt8
        switch bytes[index] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): escaped = bytes[index]
        case UInt8(ascii: "b"): escaped = 0x08
        case UInt8(ascii: "f"): escaped = 0x0C
        case UInt8(ascii: "n"): escaped = 0x0A
        case UInt8(ascii: "r"): escaped = 0x0D
        case UInt8(ascii: "t"): escaped = 0x09
        case UInt8(ascii: "u"):
            index += 1
            try parseUnicodeEscape()
            return
        default:
            throw failure("invalid escape")
        }
        unescaped.append(escaped)
        index += 1
    }

    /// Appends the scalar of `XXXX` (just after `\u`), or of a `\uXXXX\uXXXX` surrogate pair.
    private mutating func parseUnicodeEscape() throws {
        let unit = try parseHexUnit()
        let scalar: Unicode.Scalar?
        if UTF16.isLeadSurrogate(unit) {
            guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw failure("unpaired surrogate escape") }
            index += 2
            let trail = try parseHexUnit()
            guard UTF16.isTrailSurrogate(trail) else { throw failure("unpaired surrogate escape") }
            scalar = UTF16.decode(UTF16.EncodedScalar([unit, trail]))
        } else {
            scalar = Unicode.Scalar(unit)  // nil for a lone trail surrogate
        }
        guard let scalar else { throw failure("unpaired surrogate escape") }
        unescaped.append(contentsOf: scalar.utf8)
    }

    /// Four hex digits, either case.
    private mutating func parseHexUnit() throws -> UInt16 {
        guard bytes.count - index >= 4 else { throw failure("invalid \\u escape") }
        var unit: UInt16 = 0
        for byte in bytes[index..<index + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            unit = unit << 4 | UInt16(digit)
        }
        index += 4
        return unit
    }
}
