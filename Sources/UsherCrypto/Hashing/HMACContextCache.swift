internal import COpenSSL

/// Per-thread OpenSSL HMAC contexts, one per key, so the hot path never re-fetches the algorithm or
/// re-schedules the key. Bounded: a thread that has seen more than `capacity` keys starts over.
final class HMACContextCache {
    private static let capacity = 64
    private var contexts: [UInt64: OpaquePointer] = [:]

    /// The calling thread's cache, created on first use and freed when the thread exits.
    static var current: HMACContextCache { perThread.value }
    private static let perThread = ThreadLocal { HMACContextCache() }

    func context(for key: HMACKey) -> OpaquePointer {
        if let context = contexts[key.cacheID] { return context }
        if contexts.count >= Self.capacity { freeAll() }
        let context = key.secret.withUnsafeBufferPointer { secret in
            usher_hmac_sha256_new(secret.baseAddress ?? emptyInput, secret.count)
        }
        guard let context else { preconditionFailure("cannot create an HMAC context: \(OpenSSLErrors.drain())") }
        contexts[key.cacheID] = context
        return context
    }

    private func freeAll() {
        for context in contexts.values { EVP_MAC_CTX_free(context) }
        contexts.removeAll(keepingCapacity: true)
    }

    deinit { freeAll() }
}
