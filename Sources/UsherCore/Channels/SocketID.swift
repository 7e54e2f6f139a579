/// A validated Pusher socket id: two runs of ASCII digits joined by one dot, e.g. `123.456`.
///
/// Only ASCII digits count: Python's `\d` would also accept other scripts' digits, which no
/// relay ever issues, so they are rejected here.
public struct SocketID: Sendable, Hashable, CustomStringConvertible {
    /// The most digits allowed on either side of the dot; real ids are far shorter, this bounds hostile input.
    public static let maxDigitsPerPart = 20

    /// The socket id text, exactly as validated.
    public let description: String

    /// Validates `text` as `\A[0-9]+\.[0-9]+\z` with at most ``maxDigitsPerPart`` digits per part.
    ///
    /// - Throws: ``CoreError/invalidSocketID`` for anything else, including surrounding whitespace or a trailing newline.
    public init(validating text: String) throws(CoreError) {
        guard Self.isWellFormed(text.utf8) else { throw .invalidSocketID }
        description = text
    }

    /// Validates a substring or other string form as ``init(validating:)-(String)`` does.
    public init(validating text: some StringProtocol) throws(CoreError) {
        // Nothing longer can be well formed: hostile input is refused before it is copied.
        guard text.utf8.count <= 2 * Self.maxDigitsPerPart + 1 else { throw .invalidSocketID }
        try self.init(validating: String(text))
    }

    // On the concrete UTF-8 view, not generic: callers in other modules would otherwise iterate through witness tables.
    private static func isWellFormed(_ bytes: String.UTF8View) -> Bool {
        var digits = 0
        var sawDot = false
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits += 1
                if digits > maxDigitsPerPart { return false }
            case UInt8(ascii: ".") where !sawDot && digits > 0:
                sawDot = true
                digits = 0
            default:
                return false
            }
        }
        return sawDot && digits > 0
    }
}
