import ArgumentParser

/// `90s`, `15m`, `24h`, `7d` or plain seconds.
struct DurationArgument: ExpressibleByArgument, CustomStringConvertible {
    let seconds: Int64

    init?(argument: String) {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var text = Substring(argument)
        var unit: Int64 = 1
        if let last = text.last, let multiplier = units[last] {
            unit = multiplier
            text = text.dropLast()
        }
        guard let value = Int64(text), value >= 0, value <= Int64.max / unit else { return nil }
        seconds = value * unit
    }

    init(seconds: Int64) {
        self.seconds = seconds
    }

    var duration: Duration { .seconds(seconds) }
    var description: String { "\(seconds)s" }
}
