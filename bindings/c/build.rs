//! The shared library's SONAME: `libdmsched.so.0` (major version 0), so
//! that a program linked against it keeps loading the 0.x library it was
//! built for (`make install` ships libdmsched.so.0.1.0 with the .so.0 and
//! .so links).

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "android" {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libdmsched.so.{major}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
