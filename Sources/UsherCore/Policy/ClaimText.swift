import UsherCrypto

/// Reads claim values as text the way policy rules compare them.
enum ClaimText {
    /// A string as is, an integer as its JSON text; anything else has no text.
    static func scalar(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): text
        case .integer(let number): String(number)
        default: nil
        }
    }

    /// The texts a claim holds: itself if scalar, or each scalar element of an array.
    static func all(_ value: JSONValue) -> [String] {
        if case .array(let elements) = value {
            return elements.compactMap(scalar)
        }
        return scalar(value).map { [$0] } ?? []
    }
}
