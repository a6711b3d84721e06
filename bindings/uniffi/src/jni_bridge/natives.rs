//! The JNI `native` methods of a Java class that return JSON, declared as
//! a table: one line per method with its arguments by kind and the core
//! call on the object (`natives!`). What each kind is in Java and how it is
//! read:
//!
//! | kind | Java | read as |
//! |---|---|---|
//! | `str` | `String` (non-null) | `String` (null: `InvalidArgument` naming it) |
//! | `opt_str` | `String?` | `Option<String>` |
//! | `ms` | `long` Unix ms | a `Timestamp` (out of range: `InvalidArgument`) |
//! | `long`, `int` | `long`, `int` | as given |
//! | `results` | `String`, a JSON array of `{op, target, status, data?}` | the core's command results |
//! | `fields` | `String?`, a JSON object | an event's fields (null: none) |
//! | `value` | `String`, a JSON value | a tree value |
//!
//! Each method: `native` (errors thrown as `DmschedNativeException` with
//! their kind, panics as `RuntimeException`), the handle looked up, the
//! object's rules (`SharedEngine`/`SharedAgent`), the result as JSON.

/// See the module.
macro_rules! natives {
    ($class:literal, $with:ident;
     $( $name:ident ( $($arg:ident : $kind:ident),* ) => |$o:ident| $call:expr; )*) => { $(
        #[jni::jni_mangle($class)]
        #[allow(clippy::too_many_arguments)]
        pub extern "system" fn $name<'l>(
            mut env: jni::EnvUnowned<'l>,
            _class: jni::objects::JClass<'l>,
            handle: jni::sys::jlong,
            $( $arg: natives!(@ty $kind 'l), )*
        ) -> jni::objects::JString<'l> {
            $crate::jni_bridge::native(&mut env, |env| {
                $( let $arg = natives!(@read env $arg $kind); )*
                $with(env, handle, |$o| Ok($call))
            })
        }
    )* };
    (@ty str $l:lifetime) => { jni::objects::JString<$l> };
    (@ty opt_str $l:lifetime) => { jni::objects::JString<$l> };
    (@ty results $l:lifetime) => { jni::objects::JString<$l> };
    (@ty fields $l:lifetime) => { jni::objects::JString<$l> };
    (@ty value $l:lifetime) => { jni::objects::JString<$l> };
    (@ty ms $l:lifetime) => { jni::sys::jlong };
    (@ty long $l:lifetime) => { jni::sys::jlong };
    (@ty int $l:lifetime) => { jni::sys::jint };
    (@read $env:ident $a:ident str) => { $crate::jni_bridge::string($env, &$a, stringify!($a))? };
    (@read $env:ident $a:ident opt_str) => { $crate::jni_bridge::opt_string($env, &$a)? };
    (@read $env:ident $a:ident ms) => { $crate::time($a)? };
    (@read $env:ident $a:ident long) => { $a };
    (@read $env:ident $a:ident int) => { $a };
    (@read $env:ident $a:ident results) => {
        $crate::jni_bridge::results_json(&$crate::jni_bridge::string($env, &$a, stringify!($a))?)
            .map_err(|e| $crate::DmschedError::InvalidArgument(e.0))?
    };
    (@read $env:ident $a:ident fields) => {{
        let f: std::collections::BTreeMap<String, dmsched_core::expr::Value> =
            match $crate::jni_bridge::opt_string($env, &$a)? {
                Some(j) => $crate::jni_bridge::json_arg(&j, stringify!($a))?,
                None => Default::default(),
            };
        f
    }};
    (@read $env:ident $a:ident value) => {
        $crate::jni_bridge::json_arg(&$crate::jni_bridge::string($env, &$a, stringify!($a))?, stringify!($a))?
    };
}
