@testable import UsherCrypto

extension Optional<JSONValue> {
    /// Equality that also tells `-0.0` from `0.0`, which `JSONValue`'s `==` does not; `nil` (refused) matches `nil`.
    func isIdentical(to other: JSONValue?) -> Bool {
        switch (self, other) {
        case (nil, nil): true
        case (.double(let left)?, .double(let right)?): left.bitPattern == right.bitPattern
        case (.array(let left)?, .array(let right)?):
            left.count == right.count && zip(left, right).allSatisfy { Optional($0).isIdentical(to: $1) }
        case (.object(let left)?, .object(let right)?):
            left.count == right.count && left.allSatisfy { name, value in Optional(value).isIdentical(to: right[name]) }
        default: self == other
        }
    }
}
