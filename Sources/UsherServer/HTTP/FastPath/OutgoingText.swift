import NIOCore
import UsherCore

/// The buffer an answer is sent from, as a ``TextOutput``: member lists (`PresenceSnapshot.write(to:)`) and relay
/// answers (`RelayController.writeAnswer`) are written into it once, not built as a `String` and copied.
struct OutgoingText: TextOutput {
    var buffer: ByteBuffer

    mutating func append(_ text: String) {
        buffer.writeString(text)
    }
}
