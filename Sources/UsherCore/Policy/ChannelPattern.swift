import UsherCrypto

/// A compiled ``ChannelRule`` pattern: literal, wildcard and template segments parsed once.
struct ChannelPattern: Sendable {
    private enum Segment: Sendable {
        case literal([UInt8])
        case wildcard
        case userID
        case claim(String)
    }

    private let segments: [Segment]

    /// Parses `pattern`.
    ///
    /// - Throws: ``CoreError/invalidChannelRule`` for an empty pattern, an unclosed or empty `{}`, a stray `}`, or a
    ///   literal character no channel name can hold (so a typo fails at start instead of never matching).
    init(parsing pattern: String) throws(CoreError) {
        var segments: [Segment] = []
        var literal: [UInt8] = []
        var bytes = pattern.utf8[...]
        guard !bytes.isEmpty else { throw .invalidChannelRule }

        func flushLiteral() {
            if !literal.isEmpty { segments.append(.literal(literal)) }
            literal = []
        }
        while let byte = bytes.popFirst() {
            switch byte {
            case UInt8(ascii: "*"):
                flushLiteral()
                // Consecutive stars mean the same as one.
                if case .wildcard = segments.last {} else { segments.append(.wildcard) }
            case UInt8(ascii: "{"):
                guard let close = bytes.firstIndex(of: UInt8(ascii: "}")) else { throw .invalidChannelRule }
                let name = bytes[..<close]
                guard !name.isEmpty, !name.contains(UInt8(ascii: "{")) else { throw .invalidChannelRule }
                bytes = bytes[bytes.index(after: close)...]
                flushLiteral()
                let text = String(decoding: name, as: UTF8.self)
                segments.append(text == "sub" || text == "user_id" ? .userID : .claim(text))
            case UInt8(ascii: "#"):
                literal.append(byte)
            default:
                guard ChannelCharset.contains(byte) else { throw .invalidChannelRule }
                literal.append(byte)
            }
        }
        flushLiteral()
        self.segments = segments
    }

    /// Whether `channel` matches once templates are filled from `claims` and `userID`.
    ///
    /// A template whose value is missing, empty or holds characters outside the channel alphabet makes the pattern
    /// not match; this also keeps a claim value from smuggling in a `*`.
    func matches(_ channel: [UInt8], claims: JWTClaims?, userID: String) -> Bool {
        var pieces: [[UInt8]] = [[]]
        for segment in segments {
            switch segment {
            case .literal(let bytes):
                pieces[pieces.count - 1] += bytes
            case .wildcard:
                pieces.append([])
            case .userID:
                guard let value = Self.templateValue(userID) else { return false }
                pieces[pieces.count - 1] += value
            case .claim(let name):
                guard let text = claims?[name].flatMap(ClaimText.scalar), let value = Self.templateValue(text) else {
                    return false
                }
                pieces[pieces.count - 1] += value
            }
        }
        return WildcardMatch.matches(channel, pieces: pieces)
    }

    private static func templateValue(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, ChannelCharset.containsAll(bytes) else { return nil }
        return bytes
    }
}
