import Testing
import UsherCore
import UsherStorePostgres

/// One webhook sender per app across instances: claims are exclusive, lapse, and hand over the recorded position.
@Suite(PostgresTestDatabase.enabled) struct PostgresWebhookClaimTests {
    @Test("a live claim is exclusive; after it lapses the next owner resumes from the recorded position")
    func claimsHandOver() async throws {
        try await PostgresTestDatabase.withStores(2) { stores in
            let first = try await stores[0].claimWebhooks(app: "a", owner: "A", leaseMillis: 2000)
            #expect(first == WebhookClaim(deliveredThrough: nil))
            #expect(try await stores[1].claimWebhooks(app: "a", owner: "B", leaseMillis: 2000) == nil)
            // Another app is claimed independently; the owner renews its own claim.
            #expect(try await stores[1].claimWebhooks(app: "b", owner: "B", leaseMillis: 2000) != nil)
            #expect(try await stores[0].recordWebhooks(app: "a", owner: "A", deliveredThrough: 41, leaseMillis: 2000))
            #expect(try await stores[0].claimWebhooks(app: "a", owner: "A", leaseMillis: 2000) == WebhookClaim(deliveredThrough: 41))
            #expect(try await stores[1].claimWebhooks(app: "a", owner: "B", leaseMillis: 2000) == nil)

            try await Task.sleep(for: .milliseconds(2300))
            #expect(try await stores[1].claimWebhooks(app: "a", owner: "B", leaseMillis: 10_000) == WebhookClaim(deliveredThrough: 41))
            // The old owner learns it lost the claim, and its late record changes nothing.
            #expect(try await !stores[0].recordWebhooks(app: "a", owner: "A", deliveredThrough: 99, leaseMillis: 2000))
            #expect(try await stores[1].claimWebhooks(app: "a", owner: "B", leaseMillis: 10_000) == WebhookClaim(deliveredThrough: 41))
        }
    }

    @Test("of many instances claiming at once, exactly one gets the claim")
    func racingClaims() async throws {
        try await PostgresTestDatabase.withStores(2) { stores in
            let granted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for owner in 0..<12 {
                    group.addTask {
                        try await stores[owner % 2].claimWebhooks(app: "a", owner: "owner-\(owner)", leaseMillis: 10_000) != nil
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(granted == 1)
        }
    }
}
