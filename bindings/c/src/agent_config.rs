//! `config_json` of `dms_agent_open` as the core's `AgentConfig`: the
//! device facts, engine settings key by key over the agent's defaults, the
//! Scheduling MO's names, the report-delivery backoff, the session's
//! encoding and HTTP timeout. Unknown keys are refused.

use dmsched_core::EngineConfig;
use dmsched_core::agent::{AgentConfig, ReportRetry};
use dmsched_core::dm::syncml::Encoding;
use dmsched_core::mo::MoConfig;
use dmsched_core::tree::DeviceInfo;
use serde::Deserialize;
use serde_json::Value;

use crate::agent::invalid;
use crate::boundary::fail;
use crate::log;
use crate::status::dms_status;
use dmsched_core::input;

/// `config_json.device`: the `./DevInfo` and `./DevDetail` facts.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum EncodingJson {
    Xml,
    Wbxml,
}

/// `config_json.mo`: where the Scheduling MO lives and how it names its
/// reports; each key absent keeps the core's default.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigJson {
    dir: String,
    device: DeviceInfo,
    #[serde(default)]
    engine: serde_json::Map<String, Value>,
    #[serde(default)]
    encoding: Option<EncodingJson>,
    #[serde(default)]
    http_timeout_seconds: Option<u64>,
    #[serde(default)]
    mo: MoConfig,
    #[serde(default)]
    report_retry: ReportRetry,
    #[serde(default)]
    log_level: i32,
}

/// The agent's configuration and the log level (validated) of `config_json`.
/// The text and each of its sections must be JSON objects (serde would take
/// an array for a struct); short texts are bounded (see `limits`).
pub(crate) fn agent_config(text: &str) -> Result<(AgentConfig, i32), dms_status> {
    let fields = input::json_object(text, "config_json")?;
    input::objects_at(
        &fields,
        &["device", "engine", "mo", "report_retry"],
        "config_json",
    )?;
    let c: ConfigJson =
        serde_json::from_value(Value::Object(fields)).map_err(|e| invalid("config_json", e))?;
    let log_level = log::level(c.log_level, "config_json.log_level")?;
    input::short_text(&c.device.dev_id, "config_json.device.dev_id")?;
    let mut cfg = AgentConfig::new(c.dir, c.device);
    // `engine` overrides the agent's engine defaults key by key (so that
    // `device_id` stays the DevId unless given).
    let mut engine = serde_json::to_value(&cfg.engine)
        .map_err(|e| fail(dms_status::DMS_INTERNAL, e.to_string()))?;
    if let Value::Object(base) = &mut engine {
        base.extend(c.engine);
    }
    cfg.engine = serde_json::from_value::<EngineConfig>(engine)
        .map_err(|e| invalid("config_json.engine", e))?;
    input::short_text(&cfg.engine.device_id, "config_json.engine.device_id")?;
    input::short_text(&cfg.engine.time_zone, "config_json.engine.time_zone")?;
    if let Some(enc) = c.encoding {
        cfg.session.encoding = match enc {
            EncodingJson::Xml => Encoding::Xml,
            EncodingJson::Wbxml => Encoding::Wbxml,
        };
    }
    if let Some(s) = c.http_timeout_seconds {
        cfg.http.timeout = std::time::Duration::from_secs(s);
    }
    cfg.mo = c.mo;
    cfg.report_retry = c.report_retry;
    Ok((cfg, log_level))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_options_override_defaults_key_by_key() {
        let (cfg, level) = agent_config(
            r#"{"dir": "/tmp/x", "device": {"dev_id": "IMEI:1", "man": "m", "model": "o", "lang": "en"},
                "engine": {"time_zone": "Europe/Paris"}, "log_level": 3}"#,
        )
        .unwrap();
        assert_eq!(cfg.engine.device_id, "IMEI:1");
        assert_eq!(cfg.engine.time_zone, "Europe/Paris");
        assert_eq!(level, 3);
    }

    #[test]
    fn mo_and_report_retry_override_defaults_key_by_key() {
        let (cfg, _) = agent_config(
            r#"{"dir": "/tmp/x", "device": {"dev_id": "IMEI:1", "man": "m", "model": "o", "lang": "en"},
                "mo": {"report_type": "com.example.result"}, "report_retry": {"first_seconds": 5}}"#,
        )
        .unwrap();
        let default = dmsched_core::mo::MoConfig::default();
        assert_eq!(cfg.mo.report_type, "com.example.result");
        assert_eq!(cfg.mo.root, default.root);
        assert_eq!(cfg.mo.state_type, default.state_type);
        assert_eq!(cfg.report_retry.first_seconds, 5);
        assert_eq!(
            cfg.report_retry.max_seconds,
            dmsched_core::agent::ReportRetry::default().max_seconds
        );
    }

    /// Issue 14 item 5: `log_level` is an enum value, checked; the text and
    /// its sections are objects (serde alone would take arrays for structs).
    #[test]
    fn log_levels_out_of_range_and_non_objects_are_refused() {
        let base =
            r#""dir": "d", "device": {"dev_id": "1", "man": "m", "model": "o", "lang": "en"}"#;
        for bad in ["-1", "6", "255", "2147483647", "4294967296"] {
            let text = format!("{{{base}, \"log_level\": {bad}}}");
            assert!(agent_config(&text).is_err(), "{bad}");
        }
        assert_eq!(
            agent_config(&format!("{{{base}, \"log_level\": 5}}"))
                .unwrap()
                .1,
            5
        );
        assert!(
            agent_config(r#"["d", {"dev_id": "1", "man": "m", "model": "o", "lang": "en"}]"#)
                .is_err()
        );
        assert!(agent_config(r#"{"dir": "d", "device": ["1", "m", "o", "en"]}"#).is_err());
        assert!(agent_config(&format!("{{{base}, \"mo\": []}}")).is_err());
        let long = "x".repeat(300);
        assert!(
            agent_config(&format!(
                r#"{{"dir": "d", "device": {{"dev_id": "{long}", "man": "m", "model": "o", "lang": "en"}}}}"#
            ))
            .is_err()
        );
    }

    #[test]
    fn unknown_config_keys_are_refused() {
        assert!(agent_config(r#"{"dir": "d", "device": {"dev_id": "1", "man": "m", "model": "o", "lang": "en"}, "mo": {"x": 1}}"#).is_err());
        assert!(agent_config(r#"{"dir": "d", "device": {"dev_id": "1", "man": "m", "model": "o", "lang": "en"}, "report_retry": {"first": 1}}"#).is_err());
        assert!(agent_config(r#"{"dir": "d", "device": {"dev_id": "1", "man": "m", "model": "o", "lang": "en"}, "x": 1}"#).is_err());
        assert!(agent_config(r#"{"dir": "d", "device": {"dev_id": "1", "man": "m", "model": "o", "lang": "en"}, "engine": {"x": 1}}"#).is_err());
    }
}
