// Memory per presence member: fills a `PresenceRegistry` with MEMBERS members (one socket each) spread evenly over
// CHANNELS presence channels, then reports the heap bytes the registry holds (glibc `mallinfo2`, in-use bytes
// including malloc's per-chunk overhead) and the resident-set growth (`/proc/self/statm`), each divided by the
// member count.
//
//     swift run -c release --scratch-path .build usher-presence-memory [MEMBERS] [CHANNELS] [--no-user-info]
//
// Inputs are realistic in size: channel names `presence-room-000123` (20 bytes), socket ids `1234.10000123`,
// numeric user ids, and user_info `{"name":"User 123"}` unless `--no-user-info`. Each input is freed once joined, so
// what remains is what the registry keeps. Built without the benchmark package, so no malloc interposer inflates
// the figures.
import CMemoryStats
import UsherCore
import UsherCrypto

let arguments = CommandLine.arguments.dropFirst()
let numbers = arguments.compactMap { Int(String($0.filter { $0 != "_" })) }
let members = numbers.first ?? 1_000_000
let channelCount = numbers.dropFirst().first ?? 100_000
let withUserInfo = !arguments.contains("--no-user-info")
precondition(members > 0 && channelCount > 0 && channelCount <= members, "need 0 < CHANNELS <= MEMBERS")

func channelName(_ index: Int) -> ChannelName {
    let digits = String(index)
    return try! ChannelName(validating: "presence-room-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits)
}

let app = "app1"
let node = try! NodeID(validating: "relay-1")
let limits = PresenceLimits(maxMembers: members)

// Settle the allocator and the runtime before the first reading.
usher_malloc_trim()
let heapBefore = Int(usher_heap_in_use())
let residentBefore = Int(usher_resident_bytes())
let start = ContinuousClock.now

var registry = PresenceRegistry()
for index in 0..<members {
    let channel = channelName(index % channelCount)
    let socket = try! SocketID(validating: "\(1000 + index % 9000).\(10_000_000 + index)")
    let info: JSONValue? = withUserInfo ? .object(["name": .string("User \(index)")]) : nil
    let subscription = try! Subscription(
        app: app, socketID: socket, channel: channel,
        member: PresenceMember(userID: String(index), userInfo: info))
    guard case .joined(memberAdded: true, _) = registry.join(subscription, node: node, limits: limits, now: 0)
    else { fatalError("join \(index) did not add a member") }
}
let elapsed = ContinuousClock.now - start

usher_malloc_trim()
let heapAfter = Int(usher_heap_in_use())
let residentAfter = Int(usher_resident_bytes())
let statistics = registry.statistics
precondition(statistics.members == members, "registry holds \(statistics.members) members")

let heapPerMember = Double(heapAfter - heapBefore) / Double(members)
let residentPerMember = Double(residentAfter - residentBefore) / Double(members)
func format(_ value: Double) -> String { String(Int((value * 10).rounded())).inserting(decimalAt: 1) }

print("members: \(members), channels: \(channelCount), sockets: \(statistics.sockets), user_info: \(withUserInfo ? #"{"name":"User N"}"# : "none")")
print("fill time: \(elapsed)")
print("heap in use (mallinfo2): \(heapAfter - heapBefore) bytes = \(format(heapPerMember)) bytes/member")
print("resident set growth (statm): \(residentAfter - residentBefore) bytes = \(format(residentPerMember)) bytes/member")
withExtendedLifetime(registry) {}

extension String {
    /// "1234" → "123.4": one decimal place from a value scaled by 10.
    func inserting(decimalAt places: Int) -> String {
        let padded = count <= places ? String(repeating: "0", count: places - count + 1) + self : self
        return padded.dropLast(places) + "." + padded.suffix(places)
    }
}
