internal import COpenSSL

/// A parsed OpenSSL public or private key (P-256, RSA or Ed25519), parsed once and shared.
///
/// `@unchecked Sendable`: the wrapped `EVP_PKEY` is never mutated after init, and OpenSSL 3 allows concurrent
/// signing and verification with one key.
public final class AsymmetricKey: @unchecked Sendable {
    /// The key families Usher signs and verifies with.
    public enum Family: Sendable, Equatable {
        case p256, rsa, ed25519
    }

    let pkey: OpaquePointer
    /// Distinguishes keys in per-thread signing caches.
    let cacheID = asymmetricKeyCounter.add(1, ordering: .relaxed).newValue
    /// Which family this key belongs to.
    public let family: Family
    /// Whether the private half is present (a signing key).
    public let isPrivate: Bool

    init(owning pkey: OpaquePointer, isPrivate: Bool) throws(CryptoError) {
        self.pkey = pkey
        self.isPrivate = isPrivate
        switch EVP_PKEY_get_base_id(pkey) {
        case EVP_PKEY_EC where usher_is_p256(pkey) == 1: family = .p256
        case EVP_PKEY_RSA where EVP_PKEY_get_bits(pkey) >= 2048: family = .rsa
        case EVP_PKEY_ED25519: family = .ed25519
        default:
            EVP_PKEY_free(pkey)
            throw .unsupportedKey("only P-256, RSA ≥ 2048 bits and Ed25519 keys are supported")
        }
    }

    deinit { EVP_PKEY_free(pkey) }

    /// Parses a PEM public key, certificate or unencrypted private key. Encrypted PEMs are refused.
    public convenience init(pem: String) throws(CryptoError) {
        if pem.contains("ENCRYPTED") { throw .encryptedKey }
        let isPrivate = pem.contains("PRIVATE KEY-----")
        let isCertificate = pem.contains("BEGIN CERTIFICATE")
        let parsed: OpaquePointer? = Self.withMemoryBIO(pem) { bio in
            if isPrivate {
                // A non-NULL empty pass phrase makes OpenSSL fail instead of prompting on a terminal.
                return PEM_read_bio_PrivateKey(bio, nil, nil, UnsafeMutableRawPointer(mutating: emptyPassphrase.utf8Start))
            }
            if isCertificate {
                guard let cert = PEM_read_bio_X509(bio, nil, nil, nil) else { return nil }
                defer { X509_free(cert) }
                return X509_get_pubkey(cert)
            }
            return PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        guard let parsed else { throw .invalidKey("cannot parse PEM key: \(OpenSSLErrors.drain())") }
        try self.init(owning: parsed, isPrivate: isPrivate)
    }

    /// Generates a new private key.
    public static func generate(_ family: Family) throws(CryptoError) -> AsymmetricKey {
        let kind: Int32 = switch family {
        case .p256: 0
        case .rsa: 1
        case .ed25519: 2
        }
        guard let pkey = usher_generate_key(kind) else { throw .openSSL("key generation failed") }
        return try AsymmetricKey(owning: pkey, isPrivate: true)
    }

    /// The private key as unencrypted PKCS#8 PEM (for 0600 files under keys/).
    public func privateKeyPEM() throws(CryptoError) -> String {
        guard isPrivate else { throw .invalidKey("not a private key") }
        return try pem { PEM_write_bio_PrivateKey($0, pkey, nil, nil, 0, nil, nil) }
    }

    /// The public key as SubjectPublicKeyInfo PEM.
    public func publicKeyPEM() throws(CryptoError) -> String {
        try pem { PEM_write_bio_PUBKEY($0, pkey) }
    }

    private func pem(_ write: (OpaquePointer) -> Int32) throws(CryptoError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .openSSL("BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw .openSSL("PEM encoding failed") }
        var data: UnsafeMutablePointer<CChar>?
        let length = usher_bio_mem_data(bio, &data)
        guard let data, length > 0 else { throw .openSSL("PEM encoding failed") }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }

    static func withMemoryBIO<R>(_ text: String, _ body: (OpaquePointer) -> R?) -> R? {
        var text = text
        return text.withUTF8 { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return nil }
            defer { BIO_free(bio) }
            return body(bio)
        }
    }
}

private let emptyPassphrase: StaticString = ""
