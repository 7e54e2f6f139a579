import UsherCore
public import UsherCrypto

/// Who is asking: the user id and the optional presence `user_info`, with the token's claims for policy.
public struct Identity: Sendable {
    /// The user id (`sub`, or the dev-mode `user_id` field).
    public let userID: String
    /// The `user_info` object claim, used as presence user_info and sign-in user_info.
    public let userInfo: JSONValue?
    /// The verified token's claims; `nil` for dev-mode anonymous users.
    public let claims: JWTClaims?

    public init(userID: String, userInfo: JSONValue?, claims: JWTClaims?) {
        self.userID = userID
        self.userInfo = userInfo
        self.claims = claims
    }
}
