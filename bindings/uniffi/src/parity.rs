//! Issue 15: the UniFFI and JNI surfaces have every operation of the one
//! list (bindings/parity/operations.rs): each UniFFI method exists (a
//! compile-time reference) and each JNI class declares its Kotlin method.

include!("../../parity/operations.rs");

macro_rules! surfaces {
    ($($obj:ident $op:ident : c $c:ident, jni $jc:ident . $jm:ident, uniffi $uo:ident :: $um:ident;)*) => {
        /// (operation, UniFFI method, JNI class, JNI member); each UniFFI
        /// method a compile-time reference.
        #[allow(clippy::vec_init_then_push)]
        fn surfaces() -> Vec<(&'static str, usize, &'static str, &'static str)> {
            let mut v = Vec::new();
            $(surface!(v, $obj $op $uo $um $jc $jm);)*
            v
        }
    };
}

/// One operation's entry; the agent's only in a build with it (the
/// hand-off library has no `Agent`).
macro_rules! surface {
    ($v:ident, engine $op:ident $uo:ident $um:ident $jc:ident $jm:ident) => {
        $v.push((
            concat!("engine ", stringify!($op)),
            crate::$uo::$um as *const () as usize,
            stringify!($jc),
            stringify!($jm),
        ));
    };
    ($v:ident, agent $op:ident $uo:ident $um:ident $jc:ident $jm:ident) => {
        #[cfg(feature = "agent")]
        $v.push((
            concat!("agent ", stringify!($op)),
            crate::$uo::$um as *const () as usize,
            stringify!($jc),
            stringify!($jm),
        ));
    };
}

for_each_operation!(surfaces);

#[test]
fn every_operation_has_a_uniffi_method_and_a_jni_method() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/jni/org/dmsched/jni");
    for (op, addr, class, member) in surfaces() {
        assert_ne!(addr, 0, "{op}");
        let path = format!("{dir}/{class}.kt");
        let kt = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let declared = [format!("fun {member}("), format!("val {member}:")]
            .iter()
            .any(|d| kt.contains(d.as_str()));
        assert!(declared, "{op}: {class}.{member} is not declared in {path}");
    }
}
