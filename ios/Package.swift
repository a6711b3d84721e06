// swift-tools-version:5.9
//
// dmsched for iOS (and macOS, so that `swift test` runs on a Mac host).
//
// Run ./build-xcframework.sh first: it builds the Rust library for every
// Apple slice into DmschedFFI.xcframework and generates
// Sources/Dmsched/Dmsched.swift from that same build (neither is checked in).
import PackageDescription

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
        // libdmsched_uniffi.a per slice with DmschedFFI.h and module.modulemap.
        .binaryTarget(name: "DmschedFFI", path: "DmschedFFI.xcframework"),
        .target(
            name: "Dmsched",
            dependencies: ["DmschedFFI"],
            path: "Sources/Dmsched",
            exclude: ["README.md"],
            // A Rust static library records no autolink commands: link what it
            // calls. getrandom (under ring) uses SecRandomCopyBytes on iOS.
            // build-xcframework.sh prints rustc's full native-static-libs list.
            linkerSettings: [.linkedFramework("Security")]
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
