//! The workspace's `uniffi-bindgen`, at exactly the uniffi version the
//! library is built with: `cargo run -p uniffi-bindgen -- generate …`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
