//! Personalisation (use case step 4): the user's choices for the
//! parameters a server declared — asked through the host's prompt when a
//! schedule is installed (or a modify brings new parameters), or set by the
//! host later ([`Engine::personalize`]); stored with the schedule's
//! document, carried over a modify where the parameter still holds, and
//! applied when the schedule is compiled (`compile::apply_choices`).

use super::*;
use crate::host::{Choices, RunContext};
use crate::model::Problem;

/// A server's document carries no choices: they are the user's.
pub(super) fn refuse_server_choices(doc: &Schedule) -> Result<(), EngineError> {
    match &doc.personalize {
        Some(p) if !p.choices.is_empty() => Err(EngineError::Invalid(vec![Problem::new(
            "$.personalize.choices",
            "the choices are the user's, made on the device: a server declares only `params`",
        )])),
        _ => Ok(()),
    }
}

impl Engine {
    /// Asks the host's prompt for the choices of `doc` (owned by `owner`)
    /// when it has parameters and `ask` holds: the answer (in bounds)
    /// replaces the choices. Returns whether they changed.
    pub(super) fn ask_choices(
        &self,
        owner: &str,
        doc: &mut Schedule,
        ask: bool,
        now: Timestamp,
    ) -> bool {
        let (Some(prompt), Some(p)) = (&self.host.prompt, doc.personalize.as_mut()) else {
            return false;
        };
        if !ask || p.params.is_empty() {
            return false;
        }
        let ctx = RunContext::for_schedule(owner, &doc.id, now);
        let title = doc.name.clone().unwrap_or_else(|| doc.id.clone());
        let answer = match prompt.personalize(&ctx, &title, p) {
            Ok(Some(a)) => a,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(target: "dmsched::engine", owner, id = %doc.id, "personalisation prompt failed: {e}");
                return false;
            }
        };
        let mut chosen = Choices::new();
        for (id, c) in answer {
            match p.param(&id).map(|param| param.allows(&c)) {
                Some(Ok(())) => {
                    chosen.insert(id, c);
                }
                Some(Err(e)) => {
                    tracing::warn!(target: "dmsched::engine", owner, id = %doc.id, param = %id, "choice ignored: {e}");
                }
                None => {
                    tracing::warn!(target: "dmsched::engine", owner, id = %doc.id, param = %id, "choice for no parameter ignored");
                }
            }
        }
        let changed = chosen != p.choices;
        p.choices = chosen;
        changed
    }

    /// The user's choices for schedule `id` of `owner` (personalisation):
    /// every parameter's choice, a parameter left out back to the server's
    /// default. Called by the host — the user decided, in a prompt or a
    /// settings screen — never on a server's behalf. Checked against the
    /// declared bounds (nothing changes on a problem), stored with the
    /// schedule and applied from now on: a chosen window or delay to the
    /// occurrences not yet waiting, an opt-out to every occurrence not yet
    /// run.
    pub fn personalize(
        &mut self,
        owner: &str,
        id: &str,
        choices: &Choices,
        now: Timestamp,
    ) -> Result<ScheduleInfo, EngineError> {
        let sid = self.find_warm(owner, id)?;
        let s = &self.scheds[&sid];
        if !s.state.is_live() {
            return Err(EngineError::InvalidState(format!(
                "schedule {id:?} is {} and cannot be personalised",
                s.state.as_str()
            )));
        }
        let mut doc = s.plan.doc.clone();
        let Some(p) = doc.personalize.as_mut() else {
            return Err(EngineError::InvalidArgument(format!(
                "schedule {id:?} declares nothing the user may adjust"
            )));
        };
        p.choices = choices.clone();
        let plan = compile_stored(&doc, &self.cfg.limits, s.accepted_at, &self.tz)
            .map_err(EngineError::Invalid)?;
        let json = serde_json::to_string(&doc).map_err(|e| EngineError::Decode(e.to_string()))?;
        let s = self.scheds.get_mut(&sid).expect("warmed by find_warm");
        let old = std::mem::replace(&mut s.plan, std::sync::Arc::new(plan));
        let written = (|| {
            let tx = self.store.tx()?;
            tx.update_doc(sid, &json)?;
            let s = &self.scheds[&sid];
            for tidx in 0..s.tasks.len() {
                persist::write_task(&tx, &self.cfg, &self.tz, s, tidx, now)?;
            }
            tx.commit()?;
            Ok::<(), EngineError>(())
        })();
        if let Err(e) = written {
            if let Some(s) = self.scheds.get_mut(&sid) {
                s.plan = old;
            }
            return Err(e);
        }
        tracing::info!(target: "dmsched::engine", owner, id, n = choices.len(), "schedule personalised");
        self.disarm_schedule(sid);
        self.used.push(sid);
        self.arm_schedule(sid, now);
        Ok(self.info(sid, now))
    }
}
