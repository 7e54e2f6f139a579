/// Why a join was refused; the relay forwards ``code`` in a `pusher:subscription_error`.
public enum JoinRefusal: Sendable, Hashable {
    /// A new user would exceed ``PresenceLimits/maxMembers`` (a further socket of a member is never refused).
    case membersFull
    /// A member's user_info JSON text exceeds ``PresenceLimits/maxUserInfoBytes``.
    ///
    /// ``ChannelData/parse(_:limits:)`` checks this before a join (throwing ``CoreError/userInfoTooLarge``); the
    /// registry never re-serializes user_info to check it again, so only callers report this case.
    case userInfoTooLarge

    /// The Pusher error code: 4100 (over capacity) or 4301 (member too large).
    public var code: Int {
        switch self {
        case .membersFull: 4100
        case .userInfoTooLarge: 4301
        }
    }
}
