internal import COpenSSL
import Synchronization

/// Per-thread OpenSSL signing contexts for pre-hashed signatures (ES256, RS256), one per key.
///
/// What it buys: `EVP_DigestSignInit` fetches the digest and signature implementations from the provider and builds a
/// fresh `EVP_PKEY_CTX` on every call; an `EVP_PKEY_CTX` initialised once with `EVP_PKEY_sign_init` can sign any
/// number of digests, which is how `openssl speed ecdsap256` measures the physical limit. Contexts are not
/// thread-safe, hence one per thread; bounded to `capacity` keys.
final class SigningContextCache {
    private static let capacity = 16
    private var contexts: [UInt64: OpaquePointer] = [:]

    static var current: SigningContextCache { perThread.value }
    private static let perThread = ThreadLocal { SigningContextCache() }

    /// A context ready for `EVP_PKEY_sign` of a SHA-256 digest with `key`, or `nil` if OpenSSL refuses.
    func context(for key: AsymmetricKey) -> OpaquePointer? {
        if let context = contexts[key.cacheID] { return context }
        if contexts.count >= Self.capacity { freeAll() }
        guard let context = EVP_PKEY_CTX_new(key.pkey, nil) else { return nil }
        guard EVP_PKEY_sign_init(context) == 1, EVP_PKEY_CTX_set_signature_md(context, EVP_sha256()) == 1 else {
            EVP_PKEY_CTX_free(context)
            OpenSSLErrors.clear()
            return nil
        }
        contexts[key.cacheID] = context
        return context
    }

    private func freeAll() {
        for context in contexts.values { EVP_PKEY_CTX_free(context) }
        contexts.removeAll(keepingCapacity: true)
    }

    deinit { freeAll() }
}


/// Identities for cached per-thread contexts; never reused, unlike object addresses.
let asymmetricKeyCounter = Atomic<UInt64>(0)
