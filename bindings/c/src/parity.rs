//! Issue 15: the C surface has every operation of the one list
//! (bindings/parity/operations.rs): each C function exists (checked at
//! compile time) and is declared in the shipped header.

include!("../../parity/operations.rs");

macro_rules! c_functions {
    ($($obj:ident $op:ident : c $c:ident, jni $jc:ident . $jm:ident, uniffi $uo:ident :: $um:ident;)*) => {
        /// Every operation's C function, by name (each a compile-time
        /// reference: a missing one does not build).
        #[allow(clippy::vec_init_then_push)]
        fn c_functions() -> Vec<(&'static str, &'static str, usize)> {
            let mut v = Vec::new();
            $(c_function!(v, $obj $op $c);)*
            v
        }
    };
}

/// One operation's entry; the agent's only in a build with it (the
/// hand-off library has no `dms_agent_*`).
macro_rules! c_function {
    ($v:ident, engine $op:ident $c:ident) => {
        $v.push((
            concat!("engine ", stringify!($op)),
            stringify!($c),
            crate::$c as *const () as usize,
        ));
    };
    ($v:ident, agent $op:ident $c:ident) => {
        #[cfg(feature = "agent")]
        $v.push((
            concat!("agent ", stringify!($op)),
            stringify!($c),
            crate::$c as *const () as usize,
        ));
    };
}

for_each_operation!(c_functions);

#[test]
fn every_operation_has_a_c_function_declared_in_the_header() {
    let header = include_str!("../../../include/dmsched.h");
    for (op, name, addr) in c_functions() {
        assert_ne!(addr, 0, "{op}: {name}");
        assert!(
            header.contains(&format!(" {name}(")),
            "{op}: {name} is not declared in include/dmsched.h (run `make header`)"
        );
    }
}
