//! The device events the platform glue posts (docs/schedule-format.md,
//! "Event names"), with their fields: what `dmsched validate` checks event
//! triggers and filters against. Hosts may post events of their own, so a
//! name outside the catalogue is a warning, not an error. The Android
//! facade's `PlatformEvent.engineEvent` posts exactly these (checked by
//! `core/tests/event_catalogue.rs`).

/// One kind of event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventKind {
    /// The name an event trigger matches.
    pub name: &'static str,
    /// The fields a filter can read as `event.<field>` (each may be absent).
    pub fields: &'static [&'static str],
    /// When it is posted.
    pub doc: &'static str,
}

/// Every event the platform glue posts.
pub const EVENTS: &[EventKind] = &[
    EventKind {
        name: "boot",
        fields: &[],
        doc: "the device started (after the engine's first tick)",
    },
    EventKind {
        name: "network",
        fields: &["connected", "type", "metered"],
        doc: "connectivity changed; type wifi/cellular/ethernet/…, none when down",
    },
    EventKind {
        name: "charger",
        fields: &["plugged", "source"],
        doc: "a charger was plugged in or out; source ac/usb/wireless",
    },
    EventKind {
        name: "sim_change",
        fields: &["state", "slot"],
        doc: "a SIM was inserted, removed or changed state",
    },
    EventKind {
        name: "app_installed",
        fields: &["package", "replacing"],
        doc: "an application was installed or updated",
    },
    EventKind {
        name: "time_set",
        fields: &[],
        doc: "the wall clock was set (after the engine's tick on the new clock)",
    },
    EventKind {
        name: "timezone_changed",
        fields: &["zone"],
        doc: "the device's time zone changed",
    },
];

/// The catalogue entry called `name`.
pub fn event_kind(name: &str) -> Option<&'static EventKind> {
    EVENTS.iter().find(|e| e.name == name)
}
