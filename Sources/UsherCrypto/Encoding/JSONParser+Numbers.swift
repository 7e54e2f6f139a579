/// Numbers are read with RFC 8259's grammar and classified as `JSONDecoder` did for `JSONValue`, which asked for an
/// `Int64` first and a `Double` second:
/// - a value that is an integer and fits `Int64` is `.integer`, however it is written (`10`, `10.0`, `1e1`);
///   so is a value that rounds to an integer below 2⁵³ as a `Double` (`1e-400` is `.integer(0)`);
/// - from 2⁵³ to 2⁶³, a non-plain spelling goes through Foundation's `Decimal` rules, which truncate
///   (`9007199254740993.9` is `.integer(9007199254740993)`): see ``decimalInteger(_:)``; where those fail (more
///   significant digits than 64 bits hold, as in `9999999999999999.9999`) it is the `Double`'s own integer, so that
///   every parsed value is a fixed point of its text (`JSONDecoder` made it a `.double`, whose text `1e+16` then read
///   back as an integer);
/// - any other finite value is `.double`, correctly rounded; one beyond `Double`'s range (`1e400`) is refused.
extension JSONParser {
    /// Reads the number at `index`.
    mutating func parseNumber() throws -> JSONValue {
        let start = index
        let isNegative = bytes[index] == UInt8(ascii: "-")
        if isNegative { index += 1 }
        guard index < bytes.count, Self.digitValue(bytes[index]) != nil else { throw failure("invalid number") }
        var magnitude: UInt64 = 0
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, Self.digitValue(bytes[index]) != nil { throw failure("leading zero in number") }
        } else {
            while index < bytes.count, let digit = Self.digitValue(bytes[index]) {
                magnitude = magnitude &* 10 &+ UInt64(digit)  // wraps only past 18 digits, which are re-read below
                index += 1
            }
        }
        let integerDigits = index - start - (isNegative ? 1 : 0)
        var isPlainInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            try skipDigits()
            isPlainInteger = false
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            try skipDigits()
            isPlainInteger = false
        }
        if isPlainInteger, integerDigits <= 18 {
            return .integer(isNegative ? -Int64(magnitude) : Int64(magnitude))
        }
        let text = UnsafeBufferPointer(rebasing: bytes[start..<index])
        guard let value = Self.classify(text, isPlainInteger: isPlainInteger) else {
            throw failure("number out of range")
        }
        return value
    }

    /// One or more digits, as a fraction or an exponent needs.
    private mutating func skipDigits() throws {
        guard index < bytes.count, Self.digitValue(bytes[index]) != nil else { throw failure("invalid number") }
        while index < bytes.count, Self.digitValue(bytes[index]) != nil { index += 1 }
    }

    /// The value of a valid number's `text` (see the rules above this extension); `nil` when it is out of range.
    static func classify(_ text: UnsafeBufferPointer<UInt8>, isPlainInteger: Bool) -> JSONValue? {
        if isPlainInteger, let value = plainInteger(text) { return .integer(value) }
        // Swift's parser is correctly rounded and returns ±infinity past the range, as strtod does for Foundation.
        guard let double = Double(String(decoding: text, as: UTF8.self)), double.isFinite else { return nil }
        if Int64(exactly: double) != nil {
            if double.magnitude < 0x1p53 { return .integer(Int64(double)) }
            return .integer(decimalInteger(text) ?? Int64(double))
        }
        // Foundation refused a zero that was not written as zero, but every zero became `.integer(0)` above.
        return .double(double)
    }

    /// A plain integer's value, or `nil` beyond `Int64`.
    private static func plainInteger(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        let isNegative = text[0] == UInt8(ascii: "-")
        var magnitude: UInt64 = 0
        for byte in text.dropFirst(isNegative ? 1 : 0) {
            let (shifted, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, carry) = shifted.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow, !carry else { return nil }
            magnitude = sum
        }
        if isNegative { return magnitude == 1 << 63 ? .min : Int64(exactly: magnitude).map { -$0 } }
        return Int64(exactly: magnitude)
    }

    /// The integer `JSONDecoder` made of a number whose `Double` is an integer from 2⁵³ to 2⁶³ (where a `Double` can
    /// no longer tell neighbouring integers apart) by parsing it as a `Decimal` and converting that to `Int64`:
    /// a 128-bit significand (further integer digits raise the exponent, further fraction digits are dropped), an
    /// exponent within `Int8`, trailing zeros stripped, a significand that must fit 64 bits, then scaling with
    /// truncation. `nil` where that conversion failed, and the caller takes the `Double`'s integer.
    ///
    /// Where Foundation's `Decimal` parse itself failed (an exponent beyond `Int8`, such as 200 zeros then `e-200`),
    /// `JSONDecoder` crashed the process on a failed precondition; here it is the `Double`'s integer as well.
    static func decimalInteger(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        let isNegative = text[0] == UInt8(ascii: "-")
        var position = isNegative ? 1 : 0
        var significand: UInt128 = 0
        var exponent = 0
        var isFull = false
        while position < text.count, let digit = digitValue(text[position]) {
            position += 1
            if !isFull, let next = timesTenPlus(significand, digit) {
                significand = next
                continue
            }
            isFull = true
            guard exponent < Int(Int8.max) else { return nil }
            exponent += 1
        }
        if position < text.count, text[position] == UInt8(ascii: ".") {
            position += 1
            while position < text.count, let digit = digitValue(text[position]) {
                position += 1
                guard !isFull, let next = timesTenPlus(significand, digit) else { isFull = true; continue }
                significand = next
                guard exponent > Int(Int8.min) else { return nil }
                exponent -= 1
            }
        }
        if position < text.count {  // `e` or `E`, an optional sign, digits
            guard let written = writtenExponent(text[(position + 1)...]) else { return nil }
            exponent += written
            guard Int(Int8.min)...Int(Int8.max) ~= exponent else { return nil }
        }
        return truncatedInteger(significand: significand, exponent: exponent, isNegative: isNegative)
    }

    /// The exponent after `e`, or `nil` past 254 in magnitude as `Decimal` had it.
    private static func writtenExponent(_ text: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
        var digits = text[...]
        let sign = digits.first == UInt8(ascii: "-") ? -1 : 1
        if digits.first == UInt8(ascii: "-") || digits.first == UInt8(ascii: "+") { digits = digits.dropFirst() }
        var value = 0
        for byte in digits {
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            guard value <= 2 * Int(Int8.max) else { return nil }
        }
        return sign * value
    }

    /// `Int64(Decimal)`: the compacted significand must fit 64 bits, then is scaled by the exponent, truncating.
    private static func truncatedInteger(significand: UInt128, exponent: Int, isNegative: Bool) -> Int64? {
        var significand = significand
        var exponent = exponent
        while significand != 0, significand % 10 == 0 {
            significand /= 10
            exponent += 1
        }
        guard var magnitude = UInt64(exactly: significand) else { return nil }
        for _ in 0..<max(-exponent, 0) { magnitude /= 10 }
        for _ in 0..<max(exponent, 0) {
            let (product, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            magnitude = product
        }
        return Int64(exactly: magnitude).map { isNegative ? -$0 : $0 }
    }

    private static func timesTenPlus(_ value: UInt128, _ digit: Int) -> UInt128? {
        let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
        let (sum, carry) = shifted.addingReportingOverflow(UInt128(digit))
        return overflow || carry ? nil : sum
    }

    static func digitValue(_ byte: UInt8) -> Int? {
        byte &- UInt8(ascii: "0") < 10 ? Int(byte &- UInt8(ascii: "0")) : nil
    }
}
