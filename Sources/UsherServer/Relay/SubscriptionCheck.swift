import Foundation
import UsherCore
import UsherCrypto

/// Verifies what a relay presents for a subscription against the app's current (or still overlapping) secrets.
struct SubscriptionCheck {
    let app: AppRuntime
    let now: Date
    /// The app's verifier at `now`, when the caller already has it (a batch makes one per app).
    var verifier: ChannelAuthVerifier?

    /// Returns the presence member for presence channels, `nil` otherwise; throws a 4009 refusal on a bad signature.
    /// `auth` and `channelData` are UTF-8 bytes, as the relay call carries them.
    func verify(
        socketID: SocketID, channel: ChannelName, auth: UnsafeBufferPointer<UInt8>?, channelData: UnsafeBufferPointer<UInt8>?,
        userData: String?
    ) throws -> PresenceMember? {
        let verifier = verifier ?? app.app.verifier(at: now)
        switch channel.kind {
        case .public:
            return nil
        case .private, .privateEncrypted:
            guard let auth, verifier.verify(auth: auth, socketID: socketID, channel: channel, channelData: nil) else { throw Self.unauthorized }
            return nil
        case .presence:
            guard let auth, let channelData, verifier.verify(auth: auth, socketID: socketID, channel: channel, channelData: channelData) else {
                throw Self.unauthorized
            }
            // (A `do`/`catch CoreError.userInfoTooLarge` around a typed-throws call returning the member crashes the
            // 6.3 compiler's ownership verifier in release builds.)
            switch Result(catching: { () throws(CoreError) in try ChannelData.member(channelData, limits: app.limits) }) {
            case .success(let member): return member
            case .failure(.userInfoTooLarge): throw RelayRefusal(status: .conflict, code: 4301, message: "member user_info too large")
            case .failure(let error): throw error
            }
        case .serverToUser(let userID):
            guard let auth, let userData, verifier.verify(auth: auth, socketID: socketID, userData: userData),
                (try? JSONValue.parse(userData))?["id"]?.stringValue == userID
            else { throw Self.unauthorized }
            return nil
        }
    }

    /// Verifies a channel token presented instead of an auth string; the member comes from its `sub` and `info`.
    func verify(
        socketID: SocketID, channel: ChannelName, token: String, tokens: ChannelTokens, keys: SigningKeys
    ) throws -> PresenceMember? {
        // Only public channels need nothing: a server-to-user channel needs a token for its own user.
        if case .public = channel.kind { return nil }
        let claims: JWTClaims
        do {
            claims = try tokens.verify(token, with: keys, app: app.app, channel: channel, socketID: socketID, now: now)
        } catch {
            throw Self.unauthorized
        }
        if case .serverToUser(let userID) = channel.kind, claims.subject != userID { throw Self.unauthorized }
        guard channel.kind == .presence, let userID = claims.subject else { return nil }
        let info = claims["info"]?.jsonText
        if let info, info.utf8.count > app.limits.maxUserInfoBytes {
            throw RelayRefusal(status: .conflict, code: 4301, message: "member user_info too large")
        }
        return PresenceMember(userID: userID, userInfoJSON: info)
    }

    static let unauthorized = RelayRefusal(status: .forbidden, code: 4009, message: "invalid auth signature")
}
