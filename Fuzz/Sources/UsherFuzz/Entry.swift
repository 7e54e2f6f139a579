import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One fuzz target: a name (`USHER_FUZZ_TARGET`, `scripts/fuzz.sh` arguments, `Fuzz/Corpus/<name>/`) and the
/// function libFuzzer calls with each input.
struct FuzzTarget: Sendable {
    let name: String
    let summary: String
    let run: @Sendable (UnsafeRawBufferPointer) -> Void
    /// Builds the target's fixtures before the first input, so their one-time allocations are not taken for an
    /// input's leak (and `Fuzz/lsan.supp` can name them).
    var prepare: @Sendable () -> Void = {}
}

/// Every target, in the order `scripts/fuzz.sh` runs them.
let targets: [FuzzTarget] = [
    FuzzTarget(
        name: "wire", summary: "fast-path request recogniser (WireRequest) vs NIO's llhttp, then the route's answer",
        run: WireTarget.run, prepare: { _ = fixture }),
    FuzzTarget(
        name: "auth-params", summary: "auth form/JSON parameters and FormEncoding vs a reference; /pusher/auth answers verified",
        run: AuthParamsTarget.run, prepare: { _ = fixture; _ = AuthParamsTarget.identityToken }),
    FuzzTarget(
        name: "json", summary: "strict JSON reader round trip; channel_data and user_data parse/make round trip", run: JSONTarget.run),
    FuzzTarget(
        name: "jwt", summary: "JWTVerifier on raw and harness-signed tokens (4 algorithms, wrong keys); identity and channel tokens",
        run: JWTTarget.run, prepare: { _ = fixture; _ = JWTTarget.keys }),
    FuzzTarget(name: "channels", summary: "SocketID, ChannelName and ChannelKind vs reference rules", run: ChannelsTarget.run),
    FuzzTarget(
        name: "api-signature", summary: "HTTP API request verification (split, signature, APIRequestVerifier), raw and re-signed",
        run: APISignatureTarget.run, prepare: { _ = fixture; _ = runBlocking { 0 } }),
    FuzzTarget(name: "client-message", summary: "relay ClientMessage parsing and the frames built from it", run: ClientMessageTarget.run),
    FuzzTarget(name: "sse", summary: "relay SSEParser vs a reference parser, whole and chunked", run: SSETarget.run),
    FuzzTarget(
        name: "relay-api", summary: "relay API single and batch calls as the fast path answers them, memory store",
        run: RelayAPITarget.run, prepare: { _ = fixture }),
    FuzzTarget(
        name: "relay-diff", summary: "differential: single subscribe vs a batch of one op, two fresh stores",
        run: RelayDiffTarget.run, prepare: { _ = fixture }),
    FuzzTarget(name: "config", summary: "YAML configuration loader", run: ConfigTarget.run, prepare: { _ = ConfigTarget.baseDirectory }),
]

/// The target `USHER_FUZZ_TARGET` names; the process exits listing the targets when it names none.
let selectedTarget: FuzzTarget = {
    let name = getenv("USHER_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    if let target = targets.first(where: { $0.name == name }) { return target }
    var message = "usher-fuzz: set USHER_FUZZ_TARGET to one of:\n"
    for target in targets { message += "  \(target.name.padding(toLength: 15, withPad: " ", startingAt: 0)) \(target.summary)\n" }
    FileHandle.standardError.write(Data(message.utf8))
    exit(2)
}()

/// libFuzzer's set-up hook: picks the target before the first input, so a bad name fails at once.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    selectedTarget.prepare()
    return 0
}

/// libFuzzer's entry point: one input to the selected target.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    selectedTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
