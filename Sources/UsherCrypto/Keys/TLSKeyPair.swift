internal import COpenSSL

/// Checks a TLS certificate chain against its private key before a server starts with them: a pair that does not
/// match would otherwise fail every handshake, with nothing in the log.
public enum TLSKeyPair {
    /// Whether the private key in `keyPEM` (unencrypted) belongs to the first certificate of `certificatePEM`.
    ///
    /// - Throws: ``CryptoError/invalidKey(_:)`` when either text holds no certificate or key OpenSSL can read;
    ///   ``CryptoError/encryptedKey`` for an encrypted key.
    public static func matches(certificatePEM: String, keyPEM: String) throws(CryptoError) -> Bool {
        if keyPEM.contains("ENCRYPTED") { throw .encryptedKey }
        guard let certificate: OpaquePointer = AsymmetricKey.withMemoryBIO(certificatePEM, { PEM_read_bio_X509($0, nil, nil, nil) }) else {
            throw .invalidKey("no PEM certificate: \(OpenSSLErrors.drain())")
        }
        defer { X509_free(certificate) }
        guard let key: OpaquePointer = AsymmetricKey.withMemoryBIO(keyPEM, {
            PEM_read_bio_PrivateKey($0, nil, nil, UnsafeMutableRawPointer(mutating: noPassphrase.utf8Start))
        }) else {
            throw .invalidKey("no PEM private key: \(OpenSSLErrors.drain())")
        }
        defer { EVP_PKEY_free(key) }
        let matches = X509_check_private_key(certificate, key) == 1
        _ = OpenSSLErrors.drain()
        return matches
    }
}

private let noPassphrase: StaticString = ""
