//! SyncML codec benchmarks (issue 5): XML decode against a raw quick-xml
//! event scan of the same bytes (target: decode at ≥ 0.5× the scan's
//! speed), and WBXML decode against Debian's `wbxml2xml` run as a whole
//! process on the same files. Figures: docs/performance.md.
//!
//! The messages are the project's fixtures (core/tests/fixtures/syncml),
//! chosen to match the real-world ones the first figures were taken on in
//! shape and size: a Windows package 1, a server package with a Sequence,
//! a 14-command package (float/date/time), Windows Results; in WBXML a
//! Motorola-shaped package 1 and package 2 and a libwbxml encoding. The
//! large case (200 Adds of 1 KiB escaped text, ≈ 700 KB) is built from
//! the 14-command one rather than kept as a file.
//!
//! Run: `cargo bench -p dmsched --bench syncml`.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dmsched::dm::syncml::{self, Encoding};
use quick_xml::Reader;
use quick_xml::events::Event;

fn fixture(name: &str) -> (PathBuf, Vec<u8>) {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/syncml")
        .join(name);
    let b = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (p, b)
}

/// The floor: every event of the document, text included, with no
/// unescaping and nothing built.
fn raw_scan(bytes: &[u8]) -> usize {
    let mut r = Reader::from_reader(bytes);
    let mut n = 0;
    loop {
        match r.read_event() {
            Ok(Event::Eof) => return n,
            Ok(e) => {
                n += 1;
                black_box(e);
            }
            Err(_) => return n,
        }
    }
}

const XML: &[&str] = &[
    "win-pkg1-alert1201-loginstatus-devinfo-nocred.xml",
    "oma-pkg2-status212-sequence-alert1101-replace-b64.xml",
    "add-replace-get-delete-float-date-time.xml",
    "results-with-cmd-element.xml",
];

fn xml_decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("xml_decode");
    for name in XML {
        let (_, bytes) = fixture(name);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("quick_xml_raw_scan", name),
            &bytes,
            |b, x| b.iter(|| raw_scan(black_box(x))),
        );
        g.bench_with_input(BenchmarkId::new("dmsched_decode", name), &bytes, |b, x| {
            b.iter(|| {
                syncml::decode_with(black_box(x), Some(Encoding::Xml), &Default::default()).unwrap()
            })
        });
    }
    // A large message: 200 Replace commands with 1 KiB of data each.
    let (_, one) = fixture("add-replace-get-delete-float-date-time.xml");
    let mut msg = syncml::decode(&one).unwrap();
    let template = msg.body.commands[0].clone();
    msg.body.commands = (0..200)
        .map(|i| {
            let mut c = template.clone();
            c.set_cmd_id(i.to_string());
            if let syncml::Command::Add(a) = &mut c {
                a.items[0].data = Some(syncml::Data::Text("x<&".repeat(340)));
            }
            c
        })
        .collect();
    let big = syncml::encode(&msg, Encoding::Xml).unwrap();
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_with_input(
        BenchmarkId::new("quick_xml_raw_scan", "200-adds"),
        &big,
        |b, x| b.iter(|| raw_scan(black_box(x))),
    );
    g.bench_with_input(
        BenchmarkId::new("dmsched_decode", "200-adds"),
        &big,
        |b, x| {
            b.iter(|| {
                syncml::decode_with(black_box(x), Some(Encoding::Xml), &Default::default()).unwrap()
            })
        },
    );
    g.finish();
}

const WBXML: &[&str] = &[
    "cdata-devinfo-replace-locname-basic-cred.opaque-data-page2-devinf.wbxml",
    "auth-basic-pkg2-get-status212.pubid-literal-syncml11.wbxml",
    "add-replace-get-delete-float-date-time.libwbxml.wbxml",
];

fn wbxml_decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("wbxml_decode");
    g.sample_size(20);
    for name in WBXML {
        let (path, bytes) = fixture(name);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::new("dmsched_decode", name), &bytes, |b, x| {
            b.iter(|| {
                syncml::decode_with(black_box(x), Some(Encoding::Wbxml), &Default::default())
                    .unwrap()
            })
        });
        // The whole process, as a host that shells out to libwbxml would pay.
        g.bench_with_input(
            BenchmarkId::new("wbxml2xml_process", name),
            &path,
            |b, p| {
                b.iter(|| {
                    let out = Command::new("wbxml2xml")
                        .args(["-m", "0", "-o", "/dev/null"])
                        .arg(p)
                        .output()
                        .expect("wbxml2xml (libwbxml2-utils) is installed");
                    assert!(out.status.success());
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, xml_decode, wbxml_decode);
criterion_main!(benches);
