//! Debian's libwbxml tools (`libwbxml2-utils`: `wbxml2xml`, `xml2wbxml`),
//! the independent codec the WBXML tests check ours against. They are
//! required: when missing, the tests fail and say what to install.

use std::process::Command as Process;

/// Runs a libwbxml tool on `input`: `tool args -o out in`. Panics, saying
/// what to install, if the tool is missing.
pub fn run_tool(tool: &str, args: &[&str], input: &[u8]) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let inp = dir.path().join("in");
    let out = dir.path().join("out");
    std::fs::write(&inp, input).expect("write input");
    let run = Process::new(tool)
        .args(args)
        .arg("-o")
        .arg(&out)
        .arg(&inp)
        .output();
    let run = match run {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{tool}` is not installed: install Debian's libwbxml2-utils \
             (apt-get install libwbxml2-utils); the WBXML interop tests need it"
        ),
        Err(e) => panic!("{tool}: {e}"),
    };
    if !run.status.success() {
        return Err(format!(
            "{tool} {args:?} failed ({}): {}{}",
            run.status,
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        ));
    }
    std::fs::read(&out).map_err(|e| format!("{tool} wrote no output: {e}"))
}

/// libwbxml's decoder: compact (`-m 0`), keeping white space (`-k`) so
/// that text and Data arrive as they were.
pub fn wbxml2xml(wbxml: &[u8]) -> Result<Vec<u8>, String> {
    run_tool("wbxml2xml", &["-m", "0", "-k"], wbxml)
}

/// libwbxml's encoder, WBXML 1.2 as DM 1.2 uses, keeping white space
/// (`-k`): without it, libwbxml trims the trailing new line of a `Data` it
/// writes as a string (it does so in `Results`; elsewhere it writes OPAQUE).
pub fn xml2wbxml(xml: &[u8]) -> Result<Vec<u8>, String> {
    run_tool("xml2wbxml", &["-k", "-v", "1.2"], xml)
}

/// `xml2wbxml -v 1.2`, exactly the command that made the `*.libwbxml.wbxml`
/// fixtures (fixtures/syncml/README.md).
pub fn xml2wbxml_as_fixtures_were_made(xml: &[u8]) -> Result<Vec<u8>, String> {
    run_tool("xml2wbxml", &["-v", "1.2"], xml)
}

/// The libwbxml version `xml2wbxml` reports in its banner (`0.11.8`), if
/// it says.
pub fn version() -> Option<String> {
    let out = Process::new("xml2wbxml").output().ok()?;
    let text = [out.stdout, out.stderr].concat();
    let text = String::from_utf8_lossy(&text);
    let at = text.find("[libwbxml ")? + "[libwbxml ".len();
    let rest = &text[at..];
    Some(rest[..rest.find(']')?].to_string())
}

/// The libwbxml version that made the `*.libwbxml.wbxml` fixtures.
pub const FIXTURE_VERSION: &str = "0.11.8";
