//! The `dmsched` command, run as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dmsched(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmsched"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

/// Runs `dmsched` and expects exit status 0 (stderr shown otherwise).
fn dmsched_ok(args: &[&str]) -> Output {
    let out = dmsched(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "dmsched {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn validate_accepts_the_example_fleet() {
    let out = dmsched(&["validate", "examples/fleet.json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("nightly-maintenance"));
}

#[test]
fn validate_reports_one_json_path_line_per_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "bad.json",
        r#"{"id": "x", "tasks": [{"id": "t", "trigger": {"calendar": {"rrule": "FREQ=DAILY;BYHOUR=25", "dtstart": "2026-01-01T00:00:00", "tz": "Nowhere/City"}}, "actions": [{"op": "Get", "target": "nope"}]}]}"#,
    );
    let out = dmsched(&["validate", &f]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with('$')).collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("$.tasks[0].trigger.calendar.rrule: ")),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("$.tasks[0].trigger.calendar.tz: ")),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("$.tasks[0].actions[0].target: ")),
        "{err}"
    );
}

/// Issue 17: a file with N independent mistakes gets N messages in one
/// run — unknown keys and values with "did you mean", wrong types, every
/// bad RRULE part and condition with a caret under it, zones — where the
/// first version stopped at the first (5 runs for 5 typos).
#[test]
fn validate_reports_every_mistake_in_one_run_with_suggestions_and_carets() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "typos.json",
        r#"{"id": "t1", "tz": "Europe/Pari", "tasks": [
 {"id": "a", "trigger": {"calendar": {"rrule": "FREQ=DAILY;BYDAY=FX;BYMINUT=5", "dtstart": "2026-01-01T02:00:00Z", "tz": "Europe/Berlin"}},
  "constraints": {"window": [{"start": "22:00", "end": "06:00"}], "max_delay_secs": 60, "require": "./X = 'wifi'"},
  "actions": [{"op": "Replase", "target": "./A", "data": "1"}, {"exec": "./B"}],
  "policy": {"jitter_seconds": "60"}},
 {"id": "b", "trigger": {"event": {"name": "network"}}, "constraints": {"require": "./Y > 2 and ./Z > 1"},
  "actions": [{"op": "Get", "target": "./A"}]}
]}"#,
    );
    let out = dmsched(&["validate", &f]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let problems: Vec<&str> = err.lines().filter(|l| l.starts_with('$')).collect();
    let want = [
        r#"$.tasks[0].actions[0].op: unknown value "Replase" (did you mean "Replace"?)"#,
        r#"$.tasks[0].actions[1].exec: unknown key "exec""#,
        r#"$.tasks[0].constraints.max_delay_secs: unknown key "max_delay_secs" (did you mean "max_delay_seconds"?)"#,
        "$.tasks[0].constraints.require: at offset 4: unexpected character '=' (compare with `==`)",
        r#"$.tasks[0].constraints.window: unknown key "window" (did you mean "windows"?)"#,
        r#"$.tasks[0].policy.jitter_seconds: expected a whole number ≥ 0, found the string "60""#,
        r#"$.tasks[0].trigger.calendar.dtstart: the string "2026-01-01T02:00:00Z" is an instant"#,
        r#"$.tasks[0].trigger.calendar.rrule: RRULE part BYDAY: "FX""#,
        r#"$.tasks[0].trigger.calendar.rrule: RRULE part "BYMINUT" is unknown (did you mean BYMINUTE?)"#,
        "$.tasks[1].constraints.require: at offset 8: unknown name `and` (write `&&` for and)",
        r#"$.tz: unknown time zone "Europe/Pari" (did you mean Europe/Paris?)"#,
    ];
    for (got, want) in problems.iter().zip(want) {
        assert!(
            got.starts_with(want),
            "expected {want:?}, got {got:?}\n{err}"
        );
    }
    assert_eq!(problems.len(), want.len(), "{err}");
    // Carets under the part each message is about.
    let text = err.to_string();
    assert!(
        text.contains("    FREQ=DAILY;BYDAY=FX;BYMINUT=5\n               ^^^^^^^^\n"),
        "{err}"
    );
    assert!(
        text.contains("    FREQ=DAILY;BYDAY=FX;BYMINUT=5\n                        ^^^^^^^^^\n"),
        "{err}"
    );
    assert!(
        text.contains("    ./Y > 2 and ./Z > 1\n            ^^^\n"),
        "{err}"
    );
    // Lower-case RRULE names are RFC 5545 names: valid.
    let f = write(
        dir.path(),
        "lower.json",
        r#"{"id": "l", "tasks": [{"id": "t", "trigger": {"calendar": {"rrule": "freq=daily;byhour=3", "dtstart": "2026-01-01T00:00:00", "tz": "UTC"}}, "actions": [{"op": "Get", "target": "./A"}]}]}"#,
    );
    dmsched_ok(&["validate", &f]);
}

/// Issue 17: what is allowed but almost surely a mistake is printed as a
/// warning and the exit status stays 0.
#[test]
fn validate_warns_about_unknown_events_and_never_true_conditions_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "warn.json",
        r#"{"id": "w", "tasks": [
 {"id": "a", "trigger": {"event": {"name": "netwrok"}}, "actions": [{"op": "Get", "target": "./A"}]},
 {"id": "b", "trigger": {"at": "2026-01-01T00:00:00Z"}, "constraints": {"require": "'x' < 3"}, "actions": [{"op": "Get", "target": "./A"}]}
]}"#,
    );
    let out = dmsched(&["validate", &f]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid: w"));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].starts_with(r#"warning: $.tasks[0].trigger.event.name: "netwrok" is not an event the platform posts (did you mean "network"?)"#), "{err}");
    assert!(
        lines[1]
            .starts_with("warning: $.tasks[1].constraints.require: `\"x\" < 3` can never be true"),
        "{err}"
    );
}

/// Issue 17: `dmsched next` shows the next runs of every example in
/// `examples/`, local and UTC, naming the DST gap.
#[test]
fn next_shows_the_next_runs_of_every_example() {
    let mut examples: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && std::fs::read_to_string(p).unwrap().contains("\"tasks\"")
        })
        .collect();
    examples.sort();
    assert!(!examples.is_empty());
    for ex in &examples {
        let path = ex.to_str().unwrap();
        let out = dmsched(&[
            "next",
            path,
            "--from",
            "2026-03-06T00:00:00Z",
            "-n",
            "5",
            "--json",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let tasks: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(!tasks.is_empty(), "{path}");
        for t in &tasks {
            let rule = t["rule"].as_str().unwrap();
            let next = t["next"].as_array().unwrap();
            let timed = rule.starts_with("RRULE:") || rule.starts_with("every ");
            if timed {
                assert_eq!(next.len(), 5, "{path}: {t}");
            }
            for i in next {
                assert!(i["at"].as_str().unwrap().ends_with('Z'));
                assert!(i["local"].as_str().is_some());
            }
        }
    }
    let out = dmsched(&[
        "next",
        "examples/fleet.json",
        "--from",
        "2026-03-06T00:00:00Z",
        "-n",
        "4",
        "--task",
        "cleanup",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("nightly-maintenance/cleanup\n  rule  RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=30 from 2026-01-01T02:30:00 in America/New_York\n"), "{text}");
    assert!(
        text.contains("  2026-03-08T03:30:00-04:00  2026-03-08T07:30:00Z   [02:30 does not exist on 2026-03-08 (clocks go forward): runs at 03:30]\n"),
        "{text}"
    );
    assert!(!text.contains("telemetry"), "--task filters: {text}");
}

/// Renders an SVG to PNG with rsvg-convert (installed by `make deps`) and
/// decodes it: (width, height, RGBA pixels).
fn render_png(svg: &Path) -> (u32, u32, Vec<[u8; 4]>) {
    let png = svg.with_extension("png");
    let out = Command::new("rsvg-convert")
        .arg("-o")
        .arg(&png)
        .arg(svg)
        .output()
        .expect("rsvg-convert (librsvg2-bin; make deps installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut d = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    d.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut r = d.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).unwrap();
    let ch = info.color_type.samples();
    let px = buf[..info.buffer_size()]
        .chunks(ch)
        .map(|c| match ch {
            4 => [c[0], c[1], c[2], c[3]],
            3 => [c[0], c[1], c[2], 255],
            2 => [c[0], c[0], c[0], c[1]],
            _ => [c[0], c[0], c[0], 255],
        })
        .collect();
    (info.width, info.height, px)
}

/// Pixels within a few steps of colour `hex`.
fn count_colour(px: &[[u8; 4]], hex: &str) -> usize {
    let c: Vec<u8> = (0..3)
        .map(|i| u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap())
        .collect();
    px.iter()
        .filter(|p| (0..3).all(|i| p[i].abs_diff(c[i]) <= 6) && p[3] > 200)
        .count()
}

/// Issue 17: the timeline, looked at as a PNG, shows outcomes, windows,
/// events, the device off, tree values and reasons; the fleet histogram
/// shows its bars. (docs/img holds the rendered examples.)
#[test]
fn the_timeline_and_the_fleet_histogram_render_to_pictures_worth_reading() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("timeline.svg");
    dmsched_ok(&[
        "simulate",
        "examples/fleet.json",
        "--from",
        "2026-03-06T00:00:00Z",
        "--until",
        "2026-03-10T00:00:00Z",
        "--events",
        "examples/fleet-events.jsonl",
        "--tree",
        "examples/fleet-tree.json",
        "--time-zone",
        "America/New_York",
        "--local",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("(America/New_York)"), "local axis");
    assert!(
        text.contains("device events") && text.contains(">off<"),
        "events and off-period"
    );
    assert!(
        text.contains("./DevDetail/Ext/Battery/Level"),
        "tree values"
    );
    let (w, h, px) = render_png(&svg);
    assert!(w >= 1000 && h >= 300, "{w}x{h}");
    let ran = count_colour(&px, "#2e7d32");
    let window = count_colour(&px, "#fff3c4");
    let missed = count_colour(&px, "#ef6c00");
    let event = count_colour(&px, "#6a1b9a");
    let tree = count_colour(&px, "#37474f");
    assert!(ran > 500, "ran marks: {ran} px");
    assert!(window > 2000, "window bands: {window} px");
    assert!(missed > 30, "a missed occurrence: {missed} px");
    assert!(event > 30, "event marks: {event} px");
    assert!(tree > 300, "tree step lines: {tree} px");
    let white = count_colour(&px, "#ffffff");
    assert!(
        white < px.len() * 97 / 100,
        "mostly blank: {white} of {}",
        px.len()
    );

    let fleet_svg = dir.path().join("fleet.svg");
    let out = dmsched_ok(&[
        "simulate",
        "examples/fleet.json",
        "--from",
        "2026-03-06T00:00:00Z",
        "--until",
        "2026-03-08T00:00:00Z",
        "--fleet",
        "2000",
        "--svg",
        fleet_svg.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("fleet forecast: 2000 devices"),
        "{stdout}"
    );
    let (_, _, px) = render_png(&fleet_svg);
    assert!(count_colour(&px, "#4a7bd0") > 100, "histogram bars");
}

#[test]
fn validate_reports_malformed_json_with_a_location() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "bad.json",
        r#"{"id": "x", "tasks": [{"id": 3}]}"#,
    );
    let out = dmsched(&["validate", &f]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("$.tasks[0].id: "), "{err}");
}

#[test]
fn simulate_json_prints_one_object_per_occurrence_with_the_documented_keys() {
    let out = dmsched(&[
        "simulate",
        "examples/fleet.json",
        "--from",
        "2026-03-06T00:00:00Z",
        "--until",
        "2026-03-10T00:00:00Z",
        "--tree",
        "examples/fleet-tree.json",
        "--events",
        "examples/fleet-events.jsonl",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(rows.len() > 20, "{text}");
    for r in &rows {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "due",
                "due_local",
                "outcome",
                "reason",
                "run_at",
                "run_at_local",
                "schedule",
                "task"
            ],
            "{r}"
        );
        let due = r["due"].as_str().unwrap();
        assert!(due.ends_with('Z'), "{due}");
        assert!(
            [
                "ran",
                "missed",
                "skipped",
                "deferred",
                "failed",
                "interrupted"
            ]
            .contains(&r["outcome"].as_str().unwrap())
        );
    }
    // The spring-forward night: 02:30 New York does not exist on 8 March and runs at 03:30 EDT (+ jitter).
    let cleanup: Vec<&serde_json::Value> = rows.iter().filter(|r| r["task"] == "cleanup").collect();
    assert!(
        cleanup.iter().any(|r| r["due"] == "2026-03-08T07:30:00Z"),
        "{cleanup:?}"
    );
    assert!(
        cleanup.iter().any(|r| r["due"] == "2026-03-09T06:30:00Z"),
        "{cleanup:?}"
    );
    // The firmware check fell into the downtime and ran once when the device came back.
    let fw: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["schedule"] == "firmware-check")
        .collect();
    assert_eq!(fw.len(), 1, "{fw:?}");
    assert_eq!(fw[0]["outcome"], "ran");
    assert_eq!(fw[0]["run_at"], "2026-03-07T14:00:00Z");
    // Low battery switched the power saver on.
    assert!(
        rows.iter().any(|r| r["schedule"] == "power-saver"
            && r["task"] == "enable"
            && r["outcome"] == "ran")
    );
}

#[test]
fn simulate_is_deterministic_and_draws_a_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("t.svg");
    let args = |svg: &str| {
        vec![
            "simulate".to_string(),
            "examples/fleet.json".into(),
            "--from".into(),
            "2026-03-06T00:00:00Z".into(),
            "--until".into(),
            "2026-03-08T00:00:00Z".into(),
            "--svg".into(),
            svg.into(),
        ]
    };
    let a: Vec<String> = args(svg.to_str().unwrap());
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let first = dmsched(&a);
    let second = dmsched(&a);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(first.stdout, second.stdout);
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<svg"));
    assert!(picture.contains("telemetry/battery"));
}

#[test]
fn simulate_with_another_device_id_spreads_differently() {
    let run = |id: &str| {
        dmsched(&[
            "simulate",
            "examples/fleet.json",
            "--from",
            "2026-03-06T00:00:00Z",
            "--until",
            "2026-03-07T00:00:00Z",
            "--device-id",
            id,
            "--json",
        ])
        .stdout
    };
    assert_ne!(run("a"), run("b"), "jitter depends on the device id");
}

#[test]
fn inspect_shows_a_missing_store_as_an_error_and_never_creates_one() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("none.db");
    let out = dmsched(&["inspect", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!p.exists());
}

#[test]
fn inspect_reports_a_corrupt_store_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.db");
    std::fs::write(
        &p,
        b"this is not a database, just text padded out to look like one........",
    )
    .unwrap();
    let before = std::fs::read(&p).unwrap();
    let out = dmsched(&["inspect", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("corrupt"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&p).unwrap(), before);
}

#[test]
fn inspect_lists_schedules_of_a_store() {
    use dmsched::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.db");
    {
        struct Nop;
        impl dmsched::TreeAccess for Nop {
            fn read(
                &self,
                _: &str,
                _: &str,
            ) -> Result<Option<dmsched::expr::Value>, dmsched::HostError> {
                Ok(None)
            }
        }
        impl dmsched::ActionExecutor for Nop {
            fn execute(
                &self,
                _: &dmsched::RunContext,
                _: &[dmsched::model::Action],
            ) -> Result<Vec<dmsched::model::CommandResult>, dmsched::HostError> {
                Ok(vec![])
            }
        }
        let nop = std::sync::Arc::new(Nop);
        let host = dmsched::Host {
            tree: nop.clone(),
            executor: nop,
            prompt: None,
            reports: None,
            authorizer: None,
        };
        let mut e = dmsched::Engine::open(
            Store::open(&p).unwrap(),
            host,
            dmsched::EngineConfig::default(),
        )
        .unwrap();
        let docs: Vec<serde_json::Value> = serde_json::from_str(
            &std::fs::read_to_string(repo().join("examples/fleet.json")).unwrap(),
        )
        .unwrap();
        for d in &docs {
            e.submit(
                "operator-a",
                &d.to_string(),
                "2026-03-06T00:00:00Z".parse().unwrap(),
            )
            .unwrap();
        }
    }
    let out = dmsched(&["inspect", p.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("5 schedules"), "{text}");
    assert!(
        text.contains("operator-a/nightly-maintenance  active"),
        "{text}"
    );
    let json = dmsched(&["inspect", p.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["schedules"].as_array().unwrap().len(), 5);
}

/// Issue 5 CLI: `dm decode` turns WBXML into XML that names the commands;
/// `dm encode --wbxml` output decodes back to the same XML. The input is a
/// project fixture in the shape of Motorola's server package 2 (public id
/// as the SyncML 1.1 string-table literal while VerDTD is 1.2).
#[test]
fn dm_decode_and_encode_round_trip_a_capture() {
    let dir = tempfile::tempdir().unwrap();
    let capture = repo().join(
        "core/tests/fixtures/syncml/auth-basic-pkg2-get-status212.pubid-literal-syncml11.wbxml",
    );
    let out = dmsched(&["dm", "decode", capture.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(
        xml.contains("<Get>") && xml.contains("./DevDetail/URI/MaxDepth"),
        "{xml}"
    );
    let x = write(dir.path(), "m.xml", &xml);
    let w = dir.path().join("m.wbxml");
    let out = dmsched(&["dm", "encode", &x, "--wbxml", "-o", w.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&w).unwrap()[..3], [0x02, 0xa4, 0x01]);
    let back = dmsched(&["dm", "decode", w.to_str().unwrap()]);
    assert_eq!(String::from_utf8(back.stdout).unwrap(), xml);
    let bad = dmsched(&["dm", "decode", "Cargo.toml"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("status 415"));
}

/// Issue 5 CLI: `dm pkg0` prints the fields of the facts-sheet vector and
/// verifies it; a wrong password exits 1.
#[test]
fn dm_pkg0_verifies_the_spec_vector() {
    let dir = tempfile::tempdir().unwrap();
    let hex = "d694f533bbdb178ac64480e078526bec02d800000012340e636f6d2e6578616d706c652e646d";
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let p = dir.path().join("pkg0.bin");
    std::fs::write(&p, bytes).unwrap();
    let p = p.to_str().unwrap();
    let out = dmsched(&[
        "dm",
        "pkg0",
        p,
        "--server-id",
        "com.example.dm",
        "--password",
        "srvsecret",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("session id:  1234")
            && text.contains("background")
            && text.contains("verified:    yes"),
        "{text}"
    );
    let out = dmsched(&[
        "dm",
        "pkg0",
        p,
        "--server-id",
        "com.example.dm",
        "--password",
        "wrong",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

/// Issue 5 CLI: `dmsched client` provisions the account from its file, runs
/// a session against the test server over HTTPS with the file's CA, and a
/// second run reuses the stored (rotated) nonces; `--trigger` runs a
/// server-initiated session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_runs_sessions_against_the_test_server() {
    use dmsched_dm_server::{
        Account, ClientAuth, Script, ServerAuth, ServerConfig, UiMode, start, test_pki,
    };
    let dir = tempfile::tempdir().unwrap();
    let pki = test_pki(&["localhost"]);
    std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem).unwrap();
    let acct = Account::new(
        "cli-srv",
        "IMEI:35000",
        "cli-dev",
        "pw1",
        ClientAuth::Md5,
        "spw",
    )
    .with_server_auth(ServerAuth::Md5)
    .with_nonces(b"c0", b"s0");
    let srv = start(
        ServerConfig::new(
            vec![acct],
            Script::from_json(r#"{"steps": [[{"get": "./DevInfo/DevId"}]]}"#).unwrap(),
        )
        .with_tls(pki.identity()),
    )
    .await
    .unwrap();
    let file = format!(
        r#"{{"server_id": "cli-srv", "server_url": "{}", "client": {{"auth": "DIGEST", "name": "cli-dev", "secret": "pw1", "nonce": "YzA="}},
            "server": {{"auth": "DIGEST", "secret": "spw", "nonce": "czA="}}, "ca_pem": "ca.pem"}}"#,
        srv.url()
    );
    let account = write(dir.path(), "account.json", &file);
    let state = dir.path().join("state");
    let args: Vec<String> = [
        "client",
        "--state",
        state.to_str().unwrap(),
        "--account",
        &account,
        "--dev-id",
        "IMEI:35000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let run = move |extra: Vec<String>| {
        let mut a = args.clone();
        a.extend(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        dmsched(&a)
    };
    for _ in 0..2 {
        let out = tokio::task::spawn_blocking({
            let run = run.clone();
            move || run(vec![])
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("Get 200"));
    }
    let trigger = dir.path().join("pkg0.bin");
    std::fs::write(
        &trigger,
        srv.trigger("IMEI:35000", UiMode::Background).unwrap(),
    )
    .unwrap();
    let t = trigger.to_str().unwrap().to_string();
    let out = tokio::task::spawn_blocking(move || run(vec!["--trigger".into(), t]))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sessions = srv.recorder().sessions();
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions[2].initiated_by, "server");
    assert!(
        srv.recorder().auth_failures().is_empty(),
        "{:?}",
        srv.recorder().auth_failures()
    );
}

/// Issue 6 demo, shortened: the server installs, the device runs offline,
/// the server receives one result report per run (none lost, none sent
/// twice in this run), the schedule is modified and terminated; the
/// timeline is written.
#[test]
fn demo_runs_end_to_end_and_every_run_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("t.svg");
    let state = dir.path().join("device");
    let out = dmsched(&[
        "demo",
        "--phase",
        "3",
        "--state",
        state.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "package #0 verified",
        "is active with 3 tasks",
        "battery drops to 15 %",
        "power-saver #0 ran",
        "charger plugged in",
        "on-charger #0 ran",
        "Generic Alert 1226",
        "schedule fleet-care is terminated",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<svg"));
    // Issue 17: the demo's timeline shows its sessions and the immediate
    // report delivery, and its title has no fractional seconds.
    assert!(picture.contains(">DM sessions<"), "sessions lane");
    assert!(picture.contains(">report deliveries<"), "deliveries lane");
    let title = picture
        .lines()
        .find(|l| l.contains("dmsched timeline"))
        .unwrap();
    assert!(!title.contains('.'), "{title}");
}

/// Issue 6, 6.1.7.3: a device process killed (SIGKILL) between the install
/// of a schedule and its due time keeps it; started again it runs it on
/// time, and its report reaches the server, once (no answer is lost here;
/// delivery is at least once, and a re-delivered report keeps its
/// `ReportID`: `report_identity::…`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_killed_between_install_and_firing_runs_once_and_its_report_arrives() {
    use dmsched_dm_server::{
        Account, ClientAuth, Script, ServerAuth, ServerConfig, start, test_pki,
    };
    let dir = tempfile::tempdir().unwrap();
    let pki = test_pki(&["localhost"]);
    std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem).unwrap();
    let due = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(4);
    let doc = format!(
        r#"{{"tasks": [{{"id": "T", "trigger": {{"at": "{due}"}}, "actions": [{{"op": "Replace", "target": "./Vendor/X", "data": "done"}}], "policy": {{"report": "always"}}}}]}}"#
    );
    let script = format!(
        r#"{{"steps": [[{{"add": {{"target": "./Vendor", "format": "node"}}}}, {{"add": {{"target": "./Vendor/X", "data": "before"}}}},
            {{"add": {{"target": "./Scheduling/Schedules/K", "data": {}, "type": "application/json"}}}}]]}}"#,
        serde_json::to_string(&doc).unwrap()
    );
    let acct = Account::new("kill-srv", "IMEI:4242", "dev", "pw", ClientAuth::Md5, "spw")
        .with_server_auth(ServerAuth::Md5)
        .with_nonces(b"c0", b"s0");
    let srv = start(
        ServerConfig::new(vec![acct], Script::from_json(&script).unwrap()).with_tls(pki.identity()),
    )
    .await
    .unwrap();
    let account = write(
        dir.path(),
        "account.json",
        &format!(
            r#"{{"server_id": "kill-srv", "server_url": "{}", "client": {{"auth": "DIGEST", "name": "dev", "secret": "pw", "nonce": "YzA="}},
                "server": {{"auth": "DIGEST", "secret": "spw", "nonce": "czA="}}, "ca_pem": "ca.pem"}}"#,
            srv.url()
        ),
    );
    let state = dir.path().join("device").to_str().unwrap().to_string();
    let device = move |args: Vec<&str>| {
        let mut a = vec!["device", "--state", &state, "--dev-id", "IMEI:4242"];
        a.extend(args);
        Command::new(env!("CARGO_BIN_EXE_dmsched"))
            .args(&a)
            .current_dir(repo())
            .output()
            .unwrap()
    };
    let ok = |o: Output| {
        assert!(
            o.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    };
    let d = device.clone();
    tokio::task::spawn_blocking(move || {
        ok(d(vec!["provision", &account]));
        ok(d(vec!["session", "kill-srv"]));
    })
    .await
    .unwrap();
    assert_eq!(
        srv.recorder()
            .statuses_for("Add")
            .iter()
            .filter(|s| s.code == 200)
            .count(),
        3
    );
    // Later sessions only collect reports.
    srv.set_script(Script::from_json(r#"{"steps": []}"#).unwrap());

    // Start the device running, and kill it before the schedule is due.
    let state2 = dir.path().join("device");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dmsched"))
        .args([
            "device",
            "--state",
            state2.to_str().unwrap(),
            "--dev-id",
            "IMEI:4242",
            "run",
            "--seconds",
            "60",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    child.kill().unwrap(); // SIGKILL
    let killed = child.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&killed.stdout).contains("fired"),
        "fired before its time"
    );

    // Started again: it runs on time and reports once.
    let d = device.clone();
    let out = tokio::task::spawn_blocking(move || ok(d(vec!["run", "--seconds", "6"])))
        .await
        .unwrap();
    assert_eq!(out.matches("fired K/T #0 ran").count(), 1, "{out}");
    let d = device.clone();
    tokio::task::spawn_blocking(move || {
        ok(d(vec!["session", "kill-srv"]));
        ok(d(vec!["session", "kill-srv"]));
    })
    .await
    .unwrap();
    let results: Vec<_> = srv
        .recorder()
        .generic_alerts()
        .into_iter()
        .filter(|a| a.items[0].meta_type.as_deref() == Some("org.dmsched.scheduling.result"))
        .collect();
    assert_eq!(results.len(), 1, "{results:?}");
    let status = tokio::task::spawn_blocking(move || ok(device(vec!["status"])))
        .await
        .unwrap();
    assert!(status.contains("\"completed\""), "{status}");
}
