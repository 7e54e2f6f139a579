import Foundation
import Testing
import UsherCore
@testable import UsherServer

@Suite struct AppRuntimeSignerTests {
    @Test("a signer whose secret passes not_after without a reload gives way to the next usable secret")
    func signerFollowsNotAfter() throws {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let old = AppSecret(id: "old", secret: String(repeating: "o", count: 32), created: t0, notAfter: t0 + 100)
        let new = AppSecret(id: "new", secret: String(repeating: "n", count: 32), created: t0 + 1, notAfter: t0 + 10)
        let app = try App(id: "3", key: "278d425bdf160c739803", secrets: [old, new])
        let runtime = try AppRuntime(app: app, settings: nil, dev: true, now: t0 + 2)
        let socket = try SocketID(validating: "1.1")
        let channel = try ChannelName(validating: "private-x")
        let early = try runtime.authorizer(at: t0 + 2).authorizePrivate(socketID: socket, channel: channel).auth
        let late = try runtime.authorizer(at: t0 + 20).authorizePrivate(socketID: socket, channel: channel).auth
        #expect(early == "278d425bdf160c739803:" + new.hmacKey.hexMAC("1.1:private-x"))
        #expect(late == "278d425bdf160c739803:" + old.hmacKey.hexMAC("1.1:private-x"))
        #expect(throws: CoreError.noUsableSecret) { try runtime.authorizer(at: t0 + 200) }
    }
}
