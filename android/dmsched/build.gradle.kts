// The dmsched Android library: the Rust engine (cargo-ndk), its UniFFI
// Kotlin bindings (generated at build time) and the DmScheduler facade.
import org.gradle.internal.os.OperatingSystem

plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

// android/dmsched -> the Cargo workspace root.
val repoRoot: File = rootDir.parentFile
val cargoProfile: String = providers.gradleProperty("dmsched.cargoProfile").getOrElse("release")
val abis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")
val jniLibsOut = layout.buildDirectory.dir("generated/jniLibs")
val bindingsOut = layout.buildDirectory.dir("generated/uniffi/kotlin")

android {
    namespace = "org.dmsched.android"
    compileSdk = 35

    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    sourceSets["main"].apply {
        java.srcDir(bindingsOut)
        // org.dmsched.jni.NativeEngine: the JNI surface of the same library.
        java.srcDir(rootDir.resolve("../bindings/uniffi/jni"))
        jniLibs.srcDir(jniLibsOut)
    }

    // src/test is a main()-function harness for the host JVM, run by
    // ../host-test.sh (no JUnit); Gradle's unit-test tasks find no tests in it.
}

kotlin {
    jvmToolchain(17)
    // Not allWarningsAsErrors: the generated bindings are not ours to fix.
    // The facade itself is compiled with -Werror by ../host-test.sh.
}

dependencies {
    implementation("net.java.dev.jna:jna:5.13.0@aar")
    implementation("androidx.work:work-runtime:2.10.0")
    implementation("androidx.annotation:annotation:1.9.1")
    // SuspendingScheduler and the Flows of firings and reports (the host
    // tests use the same release, from the Kotlin compiler's lib/).
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.8.0")
}

// The Rust library for every ABI, into build/generated/jniLibs/<abi>/libdmsched_uniffi.so.
val cargoNdkBuild by tasks.registering(Exec::class) {
    group = "dmsched"
    description = "Builds libdmsched_uniffi for ${abis.joinToString()} with cargo-ndk"
    workingDir = repoRoot
    val out = jniLibsOut.get().asFile
    commandLine(
        buildList {
            addAll(listOf("cargo", "ndk"))
            abis.forEach { addAll(listOf("-t", it)) }
            addAll(listOf("-o", out.absolutePath, "build"))
            if (cargoProfile == "release") add("--release")
            addAll(listOf("-p", "dmsched-uniffi"))
        },
    )
    inputs.files(fileTree(repoRoot) { include("Cargo.toml", "Cargo.lock", "core/**", "bindings/uniffi/**"); exclude("**/target/**") })
    outputs.dir(out)
}

// Library-mode generation needs an unstripped library: use the host debug build.
val hostLibName: String = when {
    OperatingSystem.current().isMacOsX -> "libdmsched_uniffi.dylib"
    OperatingSystem.current().isWindows -> "dmsched_uniffi.dll"
    else -> "libdmsched_uniffi.so"
}

val cargoHostBuild by tasks.registering(Exec::class) {
    group = "dmsched"
    description = "Builds the host libdmsched_uniffi and the workspace uniffi-bindgen"
    workingDir = repoRoot
    commandLine("cargo", "build", "-p", "dmsched-uniffi", "-p", "uniffi-bindgen")
    inputs.files(fileTree(repoRoot) { include("Cargo.toml", "Cargo.lock", "core/**", "bindings/uniffi/**", "bindings/uniffi-bindgen/**"); exclude("**/target/**") })
    outputs.files(File(repoRoot, "target/debug/$hostLibName"))
}

val generateUniffiBindings by tasks.registering(Exec::class) {
    group = "dmsched"
    description = "Generates the Kotlin bindings (package org.dmsched) from the built library"
    dependsOn(cargoHostBuild)
    workingDir = repoRoot
    val out = bindingsOut.get().asFile
    val config = file("uniffi-android.toml")
    doFirst { delete(out) }
    commandLine(
        File(repoRoot, "target/debug/uniffi-bindgen").absolutePath, "generate",
        "--library", File(repoRoot, "target/debug/$hostLibName").absolutePath,
        "--language", "kotlin", "--config", config.absolutePath,
        "--out-dir", out.absolutePath, "--no-format",
    )
    inputs.file(File(repoRoot, "target/debug/$hostLibName"))
    inputs.file(config)
    outputs.dir(out)
}

tasks.named("preBuild") {
    dependsOn(cargoNdkBuild, generateUniffiBindings)
}
