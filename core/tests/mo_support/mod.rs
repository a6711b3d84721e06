//! A device for the Scheduling MO tests: the real tree, engine and MO over
//! one SQLite file (Tree::open, Engine::open with Host{tree, executor =
//! the tree}, Scheduling::builder + register), driven the way the DM
//! session drives it: a command, then `settle`; an Atomic is begin,
//! commands, commit (or rollback), then `settle`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use dmsched::engine::{Engine, EngineConfig};
use dmsched::host::{Host, HostError, PromptAnswer, RunContext, UserPrompt};
use dmsched::mo::{MoConfig, MoReport, Scheduling};
use dmsched::store::Store;
use dmsched::tree::{DeviceInfo, Format, Payload, Tree, TreeConfig, TreeError};
use jiff::Timestamp;

pub const T0: i64 = 1_796_126_400; // 2026-12-01T12:00:00Z
pub const SRV: &str = "srv-a";
pub const OTHER: &str = "srv-b";
pub const ROOT: &str = "./Scheduling/Schedules";

/// `<SyncBody>` with one Replace of ./Vendor/Mode to `value`.
pub fn cmds(value: &str) -> String {
    format!(
        "<SyncBody><Replace><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/Mode</LocURI></Target><Data>{value}</Data></Item></Replace></SyncBody>"
    )
}

/// A prompt that answers what it is told and counts the questions.
#[derive(Default)]
pub struct Prompt {
    pub answer: Mutex<Option<PromptAnswer>>,
    pub asked: Mutex<Vec<(String, String)>>,
    /// `inform` calls: (schedule, title).
    pub informed: Mutex<Vec<(String, String)>>,
    /// What the user chooses when asked to personalise (`None`: later).
    pub choices: Mutex<Option<dmsched::Choices>>,
}

impl UserPrompt for Prompt {
    fn confirm(&self, ctx: &RunContext, title: &str) -> Result<PromptAnswer, HostError> {
        self.asked
            .lock()
            .unwrap()
            .push((ctx.schedule.clone(), title.to_string()));
        Ok(self.answer.lock().unwrap().unwrap_or(PromptAnswer::Accept))
    }

    fn personalize(
        &self,
        _ctx: &RunContext,
        _title: &str,
        _p: &dmsched::model::Personalize,
    ) -> Result<Option<dmsched::Choices>, HostError> {
        Ok(self.choices.lock().unwrap().clone())
    }

    fn inform(&self, ctx: &RunContext, title: &str) {
        self.informed
            .lock()
            .unwrap()
            .push((ctx.schedule.clone(), title.to_string()));
    }
}

pub struct Device {
    pub db: PathBuf,
    pub tree: Arc<Tree>,
    pub mo: Arc<Scheduling>,
    pub now: Arc<AtomicI64>,
    pub prompt: Arc<Prompt>,
    /// State reports `settle` returned, in order.
    pub states: Mutex<Vec<MoReport>>,
}

/// The DevInfo of the test device.
pub fn device_info() -> DeviceInfo {
    DeviceInfo {
        dev_id: "IMEI:1".into(),
        man: "dmsched".into(),
        model: "mo-tests".into(),
        lang: "en".into(),
        ..DeviceInfo::default()
    }
}

pub fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap()
}

impl Device {
    /// A new device in `dir` with the MO prompt (UI/Mode 2) if `with_prompt`.
    pub fn new(dir: &Path, with_prompt: bool) -> Device {
        let d = Device::open(&dir.join("dmsched.db"), T0, with_prompt, None);
        d.tree
            .add(SRV, "./Vendor", &Payload::interior(), d.clock())
            .unwrap();
        d.tree
            .add(SRV, "./Vendor/Mode", &Payload::chr("off"), d.clock())
            .unwrap();
        d
    }

    /// Opens (again) every object on the file `db` at `now`.
    pub fn open(db: &Path, now: i64, with_prompt: bool, prompt: Option<Arc<Prompt>>) -> Device {
        let cfg = EngineConfig {
            device_id: "IMEI:1".into(),
            ..EngineConfig::default()
        };
        Device::open_with(db, now, with_prompt, prompt, cfg)
    }

    /// Like [`Device::open`] with these engine settings.
    pub fn open_with(
        db: &Path,
        now: i64,
        with_prompt: bool,
        prompt: Option<Arc<Prompt>>,
        cfg: EngineConfig,
    ) -> Device {
        let clock_now = Arc::new(AtomicI64::new(now));
        let clock: Arc<dyn Fn() -> Timestamp + Send + Sync> = {
            let n = clock_now.clone();
            Arc::new(move || ts(n.load(Ordering::SeqCst)))
        };
        let info = device_info();
        let tree = Arc::new(Tree::open(db, TreeConfig::new(info), clock()).unwrap());
        let prompt = prompt.unwrap_or_default();
        let host = Host {
            tree: tree.clone(),
            executor: tree.clone(),
            prompt: Some(prompt.clone()),
            reports: None,
            authorizer: None,
        };
        let engine = Engine::open(Store::open(db).unwrap(), host, cfg).unwrap();
        let mut b = Scheduling::builder(engine, MoConfig::default(), clock).store_file(db);
        if with_prompt {
            b = b.prompt(prompt.clone());
        }
        let mo = b.build().unwrap();
        mo.register(&tree).unwrap();
        Device {
            db: db.to_path_buf(),
            tree,
            mo,
            now: clock_now,
            prompt,
            states: Mutex::new(Vec::new()),
        }
    }

    pub fn clock(&self) -> Timestamp {
        ts(self.now.load(Ordering::SeqCst))
    }

    pub fn settle(&self) {
        let r = self.mo.settle();
        self.states.lock().unwrap().extend(r);
    }

    /// The `<Event>`s of the state reports so far.
    pub fn state_events(&self) -> Vec<String> {
        self.states
            .lock()
            .unwrap()
            .iter()
            .filter_map(|r| {
                Some(
                    r.data
                        .split("<Event>")
                        .nth(1)?
                        .split("</Event>")
                        .next()?
                        .to_string(),
                )
            })
            .collect()
    }

    fn code(r: Result<(), TreeError>) -> u16 {
        match r {
            Ok(()) => 200,
            Err(e) => e.status(),
        }
    }

    pub fn add(&self, srv: &str, uri: &str, p: Payload) -> u16 {
        let c = Device::code(self.tree.add(srv, uri, &p, self.clock()));
        self.settle();
        c
    }

    pub fn replace(&self, srv: &str, uri: &str, p: Payload) -> u16 {
        let c = Device::code(self.tree.replace(srv, uri, &p, self.clock()));
        self.settle();
        c
    }

    pub fn delete(&self, srv: &str, uri: &str) -> u16 {
        let c = Device::code(self.tree.delete(srv, uri, self.clock()));
        self.settle();
        c
    }

    pub fn exec(&self, srv: &str, uri: &str) -> u16 {
        let c = Device::code(self.tree.exec(srv, uri, None, None).map(|_| ()));
        self.settle();
        c
    }

    /// Get as `srv`: the value, or the status.
    pub fn get(&self, srv: &str, uri: &str) -> Result<String, u16> {
        self.tree
            .get(srv, uri)
            .map(|items| items[0].text())
            .map_err(|e| e.status())
    }

    /// An Atomic of `(uri, payload)` Adds as `srv`: each Add's status, and
    /// the commit's result (`None` when a command failed and it rolled back).
    pub fn atomic_adds(
        &self,
        srv: &str,
        adds: &[(String, Payload)],
    ) -> (Vec<u16>, Option<Result<(), TreeError>>) {
        self.tree.begin().unwrap();
        let mut codes = Vec::new();
        let mut failed = false;
        for (uri, p) in adds {
            let c = Device::code(self.tree.add(srv, uri, p, self.clock()));
            codes.push(c);
            if c != 200 {
                failed = true;
                break;
            }
        }
        let commit = if failed {
            self.tree.rollback().unwrap();
            None
        } else {
            let r = self.tree.commit();
            if r.is_err() {
                // As the DM session does after a refused commit.
                let _ = self.tree.rollback();
            }
            Some(r)
        };
        self.settle();
        (codes, commit)
    }

    pub fn tick(&self, at: i64) -> usize {
        self.now.store(at, Ordering::SeqCst);
        self.mo.tick(ts(at)).unwrap().len()
    }

    pub fn engine_ids(&self) -> Vec<String> {
        self.mo
            .engine()
            .list_all()
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect()
    }
}

/// The Adds that install schedule `s` node by node: one task `T1` with a
/// daily RRULE at `base` (UTC), Cmds setting ./Vendor/Mode to `value`,
/// plus `extra` nodes.
pub fn schedule_adds(
    s: &str,
    base: &str,
    value: &str,
    extra: &[(&str, Payload)],
) -> Vec<(String, Payload)> {
    let u = |p: &str| format!("{ROOT}/{s}{p}");
    let mut v = vec![
        (u(""), Payload::interior()),
        (u("/Name"), Payload::chr("eco mode")),
        (u("/Tasks"), Payload::interior()),
        (u("/Tasks/T1"), Payload::interior()),
        (u("/Tasks/T1/Cmds"), Payload::leaf(Format::Xml, cmds(value))),
        (u("/Tasks/T1/Triggers"), Payload::interior()),
        (u("/Tasks/T1/Triggers/G1"), Payload::interior()),
        (u("/Tasks/T1/Triggers/G1/Time"), Payload::interior()),
        (u("/Tasks/T1/Triggers/G1/Time/Base"), Payload::chr(base)),
        (
            u("/Tasks/T1/Triggers/G1/Time/RRule"),
            Payload::chr("FREQ=DAILY"),
        ),
        (u("/Tasks/T1/Triggers/G1/Time/TZ"), Payload::chr("UTC")),
    ];
    for (p, payload) in extra {
        v.push((u(p), payload.clone()));
    }
    v
}
