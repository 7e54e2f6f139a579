internal import COpenSSL

/// SHA-256 (encrypted-channel shared secrets, token cache keys).
public enum SHA256 {
    /// The 32-byte digest of `bytes`.
    ///
    /// Through OpenSSL's low-level SHA-256: `EVP_Digest` and 3.0's one-shot `SHA256()` look the implementation up in
    /// the provider on every call, which costs more than hashing a token (this runs on every `/pusher/auth` for the
    /// token cache key).
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let input = Array(bytes)
        return [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            input.withUnsafeBufferPointer { usher_sha256($0.baseAddress ?? emptyInput, $0.count, out.baseAddress!) }
            count = 32
        }
    }
}

/// MD5, only because the Pusher HTTP API signs `body_md5`; never used for security on its own.
public enum MD5 {
    /// The 16-byte digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] { Digest.compute(EVP_md5(), Array(bytes)) }
}

enum Digest {
    static func compute(_ md: OpaquePointer?, _ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress ?? UnsafeRawPointer(bitPattern: 1), input.count, &out, &length, md, nil)
        }
        precondition(ok == 1, "digest failed: \(OpenSSLErrors.drain())")
        return Array(out.prefix(Int(length)))
    }
}
