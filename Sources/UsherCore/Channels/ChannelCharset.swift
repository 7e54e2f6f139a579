/// The Pusher channel-name alphabet `A-Z a-z 0-9 _ - = @ , . ;`, checked byte by byte.
///
/// Working on UTF-8 bytes keeps the check ASCII-exact: Swift's `Character` comparisons would
/// accept canonically equivalent non-ASCII text.
enum ChannelCharset {
    /// Whether `byte` is one of the allowed channel-name characters.
    static func contains(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "="), UInt8(ascii: "@"),
            UInt8(ascii: ","), UInt8(ascii: "."), UInt8(ascii: ";"):
            true
        default:
            false
        }
    }

    /// Whether every byte is in the alphabet (an empty sequence passes; callers check emptiness).
    static func containsAll(_ bytes: some Sequence<UInt8>) -> Bool {
        bytes.allSatisfy(contains)
    }
}
