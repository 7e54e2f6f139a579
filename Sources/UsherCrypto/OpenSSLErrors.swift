internal import COpenSSL

/// Reads and clears the thread's OpenSSL error queue, so one failure's reasons never leak into the next call.
enum OpenSSLErrors {
    static func drain() -> String {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons.isEmpty ? "unknown OpenSSL error" : reasons.joined(separator: "; ")
    }

    /// Forgets queued errors without reading them (after an expected failure, e.g. a bad signature).
    static func clear() { ERR_clear_error() }
}
