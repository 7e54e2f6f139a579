internal import COpenSSL

/// Comparisons of secrets and signatures that take the same time wherever the inputs differ.
public enum ConstantTime {
    /// Whether `a` and `b` hold the same bytes. Lengths are not secret (signatures have fixed sizes); contents are.
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        // In place when both sides are contiguous (arrays, buffers, native strings' UTF-8), copied otherwise.
        let inPlace = a.withContiguousStorageIfAvailable { l in
            b.withContiguousStorageIfAvailable { r in CRYPTO_memcmp(l.baseAddress, r.baseAddress, l.count) == 0 }
        }
        if let inPlace, let inPlace { return inPlace }
        let left = Array(a)
        let right = Array(b)
        return left.withUnsafeBytes { l in
            right.withUnsafeBytes { r in CRYPTO_memcmp(l.baseAddress, r.baseAddress, l.count) == 0 }
        }
    }
}

/// Cryptographically secure random bytes from OpenSSL's DRBG.
public enum SecureRandom {
    /// `count` random bytes.
    public static func bytes(count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        let ok = out.withUnsafeMutableBytes { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(count)) }
        // RAND_bytes fails only if the DRBG cannot be seeded; continuing would hand out predictable keys.
        precondition(ok == 1, "RAND_bytes failed: \(OpenSSLErrors.drain())")
        return out
    }
}
