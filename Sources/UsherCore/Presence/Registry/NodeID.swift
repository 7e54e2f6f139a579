/// The name a relay node gives itself in the relay API: 1 to 128 characters of `A-Z a-z 0-9 _ . : -`.
///
/// ```swift
/// let node = try NodeID(validating: "relay-1.eu:9000")
/// ```
public struct NodeID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The longest node id accepted.
    public static let maxLength = 128

    /// The node id text, exactly as validated.
    public let description: String

    /// Validates `text` as `[A-Za-z0-9_.:-]{1,128}` (ASCII only).
    ///
    /// - Throws: ``CoreError/invalidNodeID`` when empty, too long or using any other character.
    public init(validating text: String) throws(CoreError) {
        // On the concrete UTF-8 view: a generic check called from another module iterates through witness tables.
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= Self.maxLength, bytes.allSatisfy(Self.isAllowed) else {
            throw .invalidNodeID
        }
        description = text
    }

    /// Validates a substring or other string form as ``init(validating:)-(String)`` does.
    public init(validating text: some StringProtocol) throws(CoreError) {
        // Nothing longer can be valid: hostile input is refused before it is copied.
        guard text.utf8.count <= Self.maxLength else { throw .invalidNodeID }
        try self.init(validating: String(text))
    }

    /// Orders node ids by their text, so expiries due at the same instant happen in a stable order.
    public static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        lhs.description < rhs.description
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"),
            UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}
