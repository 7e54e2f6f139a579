import UsherCore
import UsherCrypto

/// The credentials of PUSHER-PROTOCOL.md §11, shared by the known-answer tests.
enum Fixtures {
    static let appKey = "278d425bdf160c739803"
    static let secretText = "7ad3773142a6692b25b8"
    static let secret = HMACKey(secret: Array(secretText.utf8))
    static let masterKey = Array("01234567890123456789012345678901".utf8)

    static func socket(_ text: String = "1234.1234") throws -> SocketID {
        try SocketID(validating: text)
    }

    static func channel(_ text: String) throws -> ChannelName {
        try ChannelName(validating: text)
    }

    static func authorizer(masterKey: [UInt8]? = Fixtures.masterKey) throws -> ChannelAuthorizer {
        try ChannelAuthorizer(appKey: appKey, secret: secret, encryptionMasterKey: masterKey)
    }

    static let verifier = ChannelAuthVerifier(appKey: appKey, secrets: [secret])
}
