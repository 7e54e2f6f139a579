/// The Pusher channel-name alphabet `A-Z a-z 0-9 _ - = @ , . ;`, checked byte by byte.
///
/// Working on UTF-8 bytes keeps the check ASCII-exact: Swift's `Character` comparisons would
/// accept canonically equivalent non-ASCII text.
enum ChannelCharset {
    /// The alphabet as a bitmap of the 128 ASCII bytes, bit `b % 64` of word `b / 64`: bytes 0–63 allow
    /// `, - . 0-9 ; =`, bytes 64–127 allow `@ A-Z _ a-z` (ChannelNameTests checks every byte against the list above).
    private static let low: UInt64 = 0x2BFF_7000_0000_0000
    private static let high: UInt64 = 0x07FF_FFFE_87FF_FFFF

    /// Whether `byte` is one of the allowed channel-name characters.
    static func contains(_ byte: UInt8) -> Bool {
        switch byte {
        case 0..<64: low & (1 << byte) != 0
        case 64..<128: high & (1 << (byte - 64)) != 0
        default: false
        }
    }

    /// Whether every byte is in the alphabet (an empty sequence passes; callers check emptiness).
    static func containsAll(_ bytes: some Sequence<UInt8>) -> Bool {
        // Over contiguous bytes when there are some (a String's UTF-8 view steps through its indices otherwise).
        bytes.withContiguousStorageIfAvailable { $0.allSatisfy(contains) } ?? bytes.allSatisfy(contains)
    }
}
