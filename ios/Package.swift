// swift-tools-version:5.9
//
// dmsched for iOS (and macOS, so that `swift test` runs on a Mac host).
//
// Run ./build-xcframework.sh first: it builds the Rust library for every
// Apple slice into DmschedFFI.xcframework and generates
// Sources/Dmsched/Dmsched.swift from that same build (neither is checked in).
//
// On Linux (where `make swift-test` compiles and tests the package in a
// Debian 13 root with Swift 6.0.3) the FFI module is a system-library target
// instead: linux/swift-test.sh puts the generated DmschedFFI.h and its
// modulemap (plus `link "dmsched_uniffi"`) into linux/DmschedFFI and links
// the shared libdmsched_uniffi.so with -L. Everything else is the same.
import PackageDescription

#if os(Linux)
let ffiTarget: Target = .systemLibrary(name: "DmschedFFI", path: "linux/DmschedFFI")
#else
// libdmsched_uniffi.a per slice with DmschedFFI.h and module.modulemap.
let ffiTarget: Target = .binaryTarget(name: "DmschedFFI", path: "DmschedFFI.xcframework")
#endif

let package = Package(
    name: "Dmsched",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        // The UniFFI-generated bindings: Engine, records, DmschedError, host protocols.
        .library(name: "Dmsched", targets: ["Dmsched"]),
        // The idiomatic layer: DmScheduler (BGTaskScheduler, time zone, os_log).
        .library(name: "DmschedKit", targets: ["DmschedKit"]),
    ],
    targets: [
        ffiTarget,
        .target(
            name: "Dmsched",
            dependencies: ["DmschedFFI"],
            path: "Sources/Dmsched",
            exclude: ["README.md"],
            // A Rust static library records no autolink commands: link what it
            // calls. getrandom (under ring) uses SecRandomCopyBytes on iOS.
            // build-xcframework.sh prints rustc's full native-static-libs list.
            linkerSettings: [.linkedFramework("Security", .when(platforms: [.iOS, .macOS]))]
        ),
        .target(
            name: "DmschedKit",
            dependencies: ["Dmsched"],
            path: "Sources/DmschedKit"
        ),
        .testTarget(
            name: "DmschedTests",
            dependencies: ["Dmsched"],
            path: "Tests/DmschedTests"
        ),
        .testTarget(
            name: "DmschedKitTests",
            dependencies: ["DmschedKit", "Dmsched"],
            path: "Tests/DmschedKitTests"
        ),
    ]
)
