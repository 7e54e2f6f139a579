/// Entry points for the libFuzzer targets of the `Fuzz/` package (docs/fuzzing.md). Not API: only `@_spi(Fuzzing)`
/// importers see it, and nothing in Usher calls it.
@_spi(Fuzzing) public enum CryptoFuzzing {
    /// The JWS signature of `signingInput` with `key` (`SignatureEngine.sign`: an HMAC for HS256, raw r‖s for ES256),
    /// so a fuzz target can sign tokens whose header and payload are arbitrary bytes, which `JWTSigner` never makes.
    public static func signature(of signingInput: [UInt8], key: JWTKey) throws(CryptoError) -> [UInt8] {
        try SignatureEngine.sign(signingInput, key: key)
    }
}
