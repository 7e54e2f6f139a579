// swift-tools-version:6.1
// Usher's benchmarks, kept in their own package so the main build and `swift test` never compile them (nor fetch
// ordo-one/benchmark). Run from this folder; see README.md.
import PackageDescription

let package = Package(
    name: "UsherBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Usher", path: ".."),
        // 1.38.1 on Swift 6.3 counts mallocs through its malloc interposer; naming the trait keeps its
        // RuntimeInterposer trait (a package this machine's mirror does not carry) off.
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The benchmark plugin discovers suites under Benchmarks/<target>/.
        .executableTarget(
            name: "AuthBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "UsherCore", package: "Usher"),
                .product(name: "UsherCrypto", package: "Usher"),
            ],
            path: "Benchmarks/AuthBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "PresenceBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "UsherCore", package: "Usher"),
                .product(name: "UsherCrypto", package: "Usher"),
            ],
            path: "Benchmarks/PresenceBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Memory per member, measured without the benchmark package's malloc interposer (which adds a header to
        // every allocation): `swift run -c release --scratch-path .build usher-presence-memory`.
        .executableTarget(
            name: "usher-presence-memory",
            dependencies: [
                .product(name: "UsherCore", package: "Usher"),
                .product(name: "UsherCrypto", package: "Usher"),
                "CMemoryStats",
            ],
            path: "Sources/usher-presence-memory"
        ),
        // Join-to-delivery latency through the store and event log at a steady join rate.
        .executableTarget(
            name: "usher-join-latency",
            dependencies: [
                .product(name: "UsherCore", package: "Usher"),
                .product(name: "UsherStore", package: "Usher"),
            ],
            path: "Sources/usher-join-latency"
        ),
        // glibc's mallinfo2/malloc_trim and /proc/self/statm, which Swift's Glibc module does not expose.
        .target(name: "CMemoryStats", path: "Sources/CMemoryStats"),
    ]
)
