//! `TreeValue/Interval` (6.1.7.5): a tree-value trigger whose node is
//! computed by a plug-in — so nobody tells the engine it changed — is
//! sampled every Interval seconds, and fires when a sample crosses its
//! threshold; `next_wakeup` includes the next sample.

mod mo_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use dmsched::tree::{Format, NodeHandler, Payload, PluginNode, TreeError, Uri};
use mo_support::*;

/// `./Sensors/Temp`, read live from a value the test changes.
struct Sensor(Arc<AtomicI64>);

impl NodeHandler for Sensor {
    fn get(&self, _: Option<&str>, uri: &Uri) -> Result<Option<PluginNode>, TreeError> {
        Ok(match uri.as_str() {
            "./Sensors" => Some(PluginNode::Interior { mime: None }),
            "./Sensors/Temp" => Some(PluginNode::int(self.0.load(Ordering::SeqCst) as i32)),
            _ => None,
        })
    }

    fn children(&self, _: Option<&str>, uri: &Uri) -> Result<Vec<String>, TreeError> {
        Ok(if uri.as_str() == "./Sensors" {
            vec!["Temp".into()]
        } else {
            Vec::new()
        })
    }
}

fn tree_value(interval: Option<&str>) -> Vec<(&'static str, Payload)> {
    let mut v = vec![
        ("/Tasks/T1/Triggers/G2", Payload::interior()),
        ("/Tasks/T1/Triggers/G2/TreeValue", Payload::interior()),
        (
            "/Tasks/T1/Triggers/G2/TreeValue/URI",
            Payload::chr("./Sensors/Temp"),
        ),
        ("/Tasks/T1/Triggers/G2/TreeValue/Op", Payload::chr("gt")),
        ("/Tasks/T1/Triggers/G2/TreeValue/Value", Payload::chr("30")),
    ];
    if let Some(i) = interval {
        v.push((
            "/Tasks/T1/Triggers/G2/TreeValue/Interval",
            Payload::leaf(Format::Int, i),
        ));
    }
    v
}

/// 6.1.7.5: sampled every Interval seconds; without an Interval a silent
/// change is not seen.
#[test]
fn a_tree_value_with_an_interval_is_sampled() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    let temp = Arc::new(AtomicI64::new(20));
    d.tree
        .register_handler("./Sensors", Arc::new(Sensor(temp.clone())), None, d.clock())
        .unwrap();
    // A daily time trigger (G1) far away and the threshold trigger (G2).
    // Without an Interval a silent change is not seen.
    let (_, c) = d.atomic_adds(
        SRV,
        &schedule_adds("N", "2026-12-02T12:00:00Z", "never", &tree_value(None)),
    );
    c.unwrap().unwrap();
    assert_eq!(d.tick(T0), 0);
    temp.store(35, Ordering::SeqCst);
    assert_eq!(d.tick(T0 + 60), 0);
    assert_eq!(d.tick(T0 + 600), 0, "nobody told the engine");
    temp.store(20, Ordering::SeqCst);
    // With an Interval of 60 s it is sampled (and what a sample sees is a
    // change of the node for every task that watches it).
    d.now.store(T0 + 600, Ordering::SeqCst);
    let (_, c) = d.atomic_adds(
        SRV,
        &schedule_adds("S", "2026-12-02T12:00:00Z", "hot", &tree_value(Some("60"))),
    );
    c.unwrap().unwrap();
    assert_eq!(d.tick(T0 + 600), 0, "20 is not above 30: armed");
    assert_eq!(d.mo.next_wakeup(), Some(ts(T0 + 660)), "the next sample");
    temp.store(35, Ordering::SeqCst);
    assert_eq!(d.tick(T0 + 630), 0, "not sampled before its interval");
    assert_eq!(
        d.tick(T0 + 660),
        2,
        "the sample sees 35 > 30 (S, and N too)"
    );
    assert_eq!(d.tick(T0 + 720), 0, "still above: no new edge");
    temp.store(25, Ordering::SeqCst);
    assert_eq!(d.tick(T0 + 780), 0, "below again: re-armed");
    temp.store(40, Ordering::SeqCst);
    assert_eq!(d.tick(T0 + 840), 2);
}
