/// Where text that is built piece by piece goes: a `String`, or (in the server) the byte buffer an answer is sent
/// from, so a large answer is written once rather than built as a `String` and copied.
public protocol TextOutput {
    /// Appends `text`'s UTF-8 bytes.
    mutating func append(_ text: String)
}

extension String: TextOutput {}
