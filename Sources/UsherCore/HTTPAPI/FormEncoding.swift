import UsherCrypto

/// `application/x-www-form-urlencoded` decoding as the Pusher SDKs encode: `+` is a space, `%XX` a byte.
public enum FormEncoding {
    /// Decodes `+` and `%XX`; nil for a broken escape or invalid UTF-8 (refused, never guessed at).
    public static func decode(_ bytes: some Collection<UInt8>) -> String? {
        if !bytes.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) {
            return String(validating: bytes, as: UTF8.self)
        }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                let first = bytes.index(after: index)
                guard first < bytes.endIndex, bytes.index(after: first) < bytes.endIndex,
                    let decoded = Hex.decode(String(decoding: [bytes[first], bytes[bytes.index(after: first)]], as: UTF8.self))
                else { return nil }
                out.append(decoded[0])
                index = bytes.index(first, offsetBy: 2)
            } else {
                out.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index = bytes.index(after: index)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// A request target split into the path exactly as sent (what the SDKs sign) and the decoded query pairs, in
    /// order with duplicates kept (the signature verifier refuses them); nil when a pair is not decodable.
    public static func splitTarget(_ target: String) -> (path: String, query: [(name: String, value: String)])? {
        // The first `?` byte: a Character search misses a `?` followed by a combining mark (fuzzing finding F4).
        guard let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (target, []) }
        var pairs: [(name: String, value: String)] = []
        for pair in target.utf8[target.utf8.index(after: mark)...].split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = parts.count > 1 ? decode(parts[1]) : "" else { return nil }
            pairs.append((name, value))
        }
        return (String(decoding: target.utf8[..<mark], as: UTF8.self), pairs)
    }
}
