internal import COpenSSL

/// An HMAC-SHA256 key, the primitive behind every Pusher signature.
///
/// Security: the secret never leaves this object except through `withUnsafeSecret` for key derivation;
/// `description` is redacted. Verification is constant-time and accepts lowercase hex only, as Pusher does.
///
/// Speed: the key is absorbed once into the two SHA-256 states HMAC starts from (`usher_hmac_sha256_state`);
/// a signature copies them and hashes only the message. Re-arming an OpenSSL 3 `EVP_MAC` context instead
/// duplicates a provider context per call (a malloc/free pair), and fetching one per call is slower still.
/// The states are read-only after `init`, so one key serves every thread without locks or per-thread caches.
public final class HMACKey: @unchecked Sendable, CustomStringConvertible {
    let secret: [UInt8]
    /// Written once in `init`, then only read (by `usher_hmac_sha256`, which copies it); cleared in `deinit`.
    private let state: UnsafeMutablePointer<usher_hmac_sha256_state>

    /// Creates a key from raw secret bytes (a Pusher app secret's UTF-8 bytes).
    public init(secret: [UInt8]) {
        self.secret = secret
        state = .allocate(capacity: 1)
        secret.withUnsafeBufferPointer { usher_hmac_sha256_prepare(state, $0.baseAddress ?? emptyInput, $0.count) }
    }

    deinit {
        usher_hmac_sha256_clear(state)
        state.deallocate()
    }

    /// Creates a key from a secret's UTF-8 text.
    public convenience init(secret: String) {
        self.init(secret: Array(secret.utf8))
    }

    public var description: String { "HMACKey(redacted)" }

    /// The 32-byte MAC of `message`.
    public func mac(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
            count = computeMAC(message, into: buffer.baseAddress!)
        }
    }

    /// The 32-byte MAC of a string's UTF-8 bytes.
    public func mac(_ message: String) -> [UInt8] {
        var message = message
        return message.withUTF8 { mac(UnsafeRawBufferPointer($0)) }
    }

    /// The 32-byte MAC of `message`.
    public func mac(_ message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { mac($0) }
    }

    /// The MAC of a string's UTF-8 bytes as 64 lowercase hex characters.
    public func hexMAC(_ message: String) -> String {
        var message = message
        return message.withUTF8 { hexMAC(UnsafeRawBufferPointer($0)) }
    }

    /// The MAC of `message` as 64 lowercase hex characters.
    public func hexMAC(_ message: [UInt8]) -> String {
        message.withUnsafeBytes { hexMAC($0) }
    }

    /// The MAC of `message` as 64 lowercase hex characters, written straight into the string's storage.
    public func hexMAC(_ message: UnsafeRawBufferPointer) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { raw in
            _ = computeMAC(message, into: raw.baseAddress!)
            return String(unsafeUninitializedCapacity: 64) { out in
                Self.writeHex(of: raw.baseAddress!, into: out.baseAddress!)
                return 64
            }
        }
    }

    /// Whether `hexMAC` is exactly the lowercase hex MAC of `message`, compared in constant time.
    public func isValid(hexMAC candidate: Substring, for message: String) -> Bool {
        var message = message
        return message.withUTF8 { message in
            var candidate = candidate
            return candidate.withUTF8 { isValid(hexMAC: UnsafeRawBufferPointer($0), for: UnsafeRawBufferPointer(message)) }
        }
    }

    /// Whether the bytes `candidate` are exactly the lowercase hex MAC of `message`, compared in constant time.
    public func isValid(hexMAC candidate: UnsafeRawBufferPointer, for message: UnsafeRawBufferPointer) -> Bool {
        guard candidate.count == 64 else { return false }
        // The expected hex is made on the stack: a signature check allocates nothing.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 96) { scratch in
            _ = computeMAC(message, into: scratch.baseAddress!)
            Self.writeHex(of: scratch.baseAddress!, into: scratch.baseAddress! + 32)
            return CRYPTO_memcmp(candidate.baseAddress!, scratch.baseAddress! + 32, 64) == 0
        }
    }

    /// Writes the 32-byte MAC at `mac` as 64 lowercase hex characters at `out`.
    private static func writeHex(of mac: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) {
        let digits = ("0123456789abcdef" as StaticString).utf8Start
        for i in 0..<32 {
            out[2 * i] = digits[Int(mac[i] >> 4)]
            out[2 * i + 1] = digits[Int(mac[i] & 0x0F)]
        }
    }

    /// Lends the raw secret for key derivation; do not store or log it.
    public func withUnsafeSecret<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try secret.withUnsafeBytes(body)
    }

    private func computeMAC(_ message: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) -> Int {
        usher_hmac_sha256(state, message.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyInput, message.count, out)
        return 32
    }
}

/// A valid pointer for zero-length input (OpenSSL wants non-NULL even when it reads nothing).
var emptyInput: UnsafePointer<UInt8> { ("" as StaticString).utf8Start }
