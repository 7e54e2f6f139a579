extension PresenceRegistry {
    /// Timing rules, in milliseconds of the owner's clock.
    public struct Configuration: Sendable, Hashable {
        /// How long a member whose last socket left stays listed, so a page reload causes no leave/join flicker;
        /// 0 removes members at once.
        public var graceMillis: Int64 = 3000
        /// How long a node stays alive after it last spoke (heartbeat, join or resync).
        public var leaseMillis: Int64 = 15000

        /// Creates timing rules; the defaults suit relays that heartbeat every 5 seconds.
        public init(graceMillis: Int64 = 3000, leaseMillis: Int64 = 15000) {
            self.graceMillis = graceMillis
            self.leaseMillis = leaseMillis
        }
    }
}
