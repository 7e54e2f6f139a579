import Foundation

/// IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`, without a `DateFormatter`.
enum HTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(_ time: tm) -> String {
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(time.tm_wday)]), \(two(time.tm_mday)) \(months[Int(time.tm_mon)]) \(time.tm_year + 1900) "
            + "\(two(time.tm_hour)):\(two(time.tm_min)):\(two(time.tm_sec)) GMT"
    }

    /// The current date, formatted at most once a second.
    struct Cache {
        private var second = 0
        private var text = ""

        mutating func current() -> String {
            var now = time(nil)
            if now != second {
                var parts = tm()
                gmtime_r(&now, &parts)
                (second, text) = (now, HTTPDate.format(parts))
            }
            return text
        }
    }
}
