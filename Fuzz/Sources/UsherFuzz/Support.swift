import Dispatch
import Foundation
import Synchronization
@_spi(Fuzzing) import UsherCore
@_spi(Fuzzing) import UsherCrypto

/// Stops the run: libFuzzer keeps the input as a crash file, and the message says which property failed.
func fail(_ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError("usher-fuzz: \(message())", file: file, line: line)
}

/// Fails unless `condition` holds.
func check(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fail(message(), file: file, line: line) }
}

/// Reads a fuzz input front to back: selector bytes first (0 past the end), then the rest as the payload.
struct FuzzReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// The bytes not read yet, in place (libFuzzer's own buffer, so AddressSanitizer sees reads past its end).
    var rest: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[min(offset, bytes.count)...]) }
}

/// The input split at `separator` bytes (empty parts kept).
func lines(_ bytes: UnsafeRawBufferPointer, separator: UInt8 = UInt8(ascii: "\n")) -> [ArraySlice<UInt8>] {
    Array(bytes).split(separator: separator, omittingEmptySubsequences: false)
}

/// Runs `body` to completion from libFuzzer's synchronous callback (the HTTP API verifier is `async`). The task
/// starts on this thread and, as the verifier never suspends on a buffered body, normally ends there too: its
/// allocations are freed within the input, so LeakSanitizer is not run after every input.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.immediate {
        let value = await body()
        box.value.withLock { $0 = value }
        done.signal()
    }
    done.wait()
    guard let value = box.value.withLock({ $0 }) else { fail("an async step returned nothing") }
    return value
}

/// Where `runBlocking`'s task leaves its result.
final class ResultBox<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
}

/// A scratch directory for this process (key files the configuration loader and the fixture read).
let scratchDirectory: String = {
    let path = NSTemporaryDirectory() + "usher-fuzz-\(ProcessInfo.processInfo.processIdentifier)"
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    } catch {
        fail("cannot create \(path): \(error)")
    }
    return path
}()

/// The JSON text as an object's members, or nil.
func jsonObject(_ text: String) -> [String: JSONValue]? {
    guard case .object(let members)? = try? JSONValue.parse(text) else { return nil }
    return members
}

/// `application/x-www-form-urlencoded` decoding written independently of `FormEncoding` (the oracle): `+` is a
/// space, `%` takes exactly two hex digits, and the result must be valid UTF-8.
func referenceFormDecode(_ bytes: some Collection<UInt8>) -> String? {
    let input = Array(bytes)
    var out: [UInt8] = []
    var index = 0
    func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
    while index < input.count {
        switch input[index] {
        case UInt8(ascii: "%"):
            guard index + 2 < input.count, let high = hex(input[index + 1]), let low = hex(input[index + 2])
            else { return nil }
            out.append(high << 4 | low)
            index += 3
        case UInt8(ascii: "+"):
            out.append(0x20)
            index += 1
        default:
            out.append(input[index])
            index += 1
        }
    }
    return String(validating: out, as: UTF8.self)
}

/// Percent-encodes every byte but RFC 3986's unreserved characters (what a careful SDK sends).
func percentEncode(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            out += "%" + Hex.encode([byte]).uppercased()
        }
    }
    return out
}

/// A short printable rendering of bytes for failure messages.
func show(_ bytes: some Sequence<UInt8>) -> String {
    String(reflecting: String(decoding: Array(bytes.prefix(300)), as: UTF8.self))
}
