internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// Per-thread OpenSSL HMAC contexts, one per key, so the hot path never re-fetches the algorithm or
/// re-schedules the key. Bounded: a thread that has seen more than `capacity` keys starts over.
final class HMACContextCache {
    private static let capacity = 64
    private var contexts: [UInt64: OpaquePointer] = [:]

    /// The calling thread's cache, created on first use and freed when the thread exits.
    static var current: HMACContextCache {
        if let raw = pthread_getspecific(threadKey.key) {
            return Unmanaged<HMACContextCache>.fromOpaque(raw).takeUnretainedValue()
        }
        let cache = HMACContextCache()
        pthread_setspecific(threadKey.key, Unmanaged.passRetained(cache).toOpaque())
        return cache
    }

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

/// Owns the pthread key; immutable after creation, hence safe to share.
private final class ThreadKey: @unchecked Sendable {
    let key: pthread_key_t
    init() {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { raw in
            guard let raw else { return }
            Unmanaged<HMACContextCache>.fromOpaque(raw).release()
        }
        precondition(status == 0, "pthread_key_create failed")
        self.key = key
    }
}

private let threadKey = ThreadKey()
