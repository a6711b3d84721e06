// Every operation of the SDK's binding surfaces, once: its C function, its
// JNI (Kotlin) method and its UniFFI (Kotlin/Swift) method. The parity
// tests of the C crate (bindings/c/src/parity.rs) and of the UniFFI crate
// (bindings/uniffi/src/parity.rs) `include!` this file and fail — at
// compile time for Rust items, at test time for the header and the Kotlin
// sources — when a surface lacks an operation of the list. Adding an
// operation: docs/bindings.md, "Adding an operation".
//
// Each line: `object operation: c <C function>, jni <Class>.<method>,
// uniffi <Object>::<method>;`.

macro_rules! for_each_operation {
    ($m:ident) => {
        $m! {
            engine open: c dms_engine_open, jni NativeEngine.open, uniffi Engine::open;
            engine close: c dms_engine_close, jni NativeEngine.close, uniffi Engine::shutdown;
            engine submit: c dms_engine_submit, jni NativeEngine.submit, uniffi Engine::submit;
            engine modify: c dms_engine_modify, jni NativeEngine.modify, uniffi Engine::modify;
            engine suspend: c dms_engine_lifecycle, jni NativeEngine.suspend, uniffi Engine::suspend;
            engine resume: c dms_engine_lifecycle, jni NativeEngine.resume, uniffi Engine::resume;
            engine terminate: c dms_engine_lifecycle, jni NativeEngine.terminate, uniffi Engine::terminate;
            engine get: c dms_engine_get, jni NativeEngine.get, uniffi Engine::get;
            engine list: c dms_engine_list, jni NativeEngine.list, uniffi Engine::list;
            engine tick: c dms_engine_tick, jni NativeEngine.tick, uniffi Engine::tick;
            engine complete: c dms_engine_complete, jni NativeEngine.complete, uniffi Engine::complete;
            engine next_wakeup: c dms_engine_next_wakeup, jni NativeEngine.nextWakeup, uniffi Engine::next_wakeup;
            engine wakeup_window: c dms_engine_wakeup_window, jni NativeEngine.wakeupWindow, uniffi Engine::wakeup_window;
            engine post_event: c dms_engine_post_event, jni NativeEngine.postEvent, uniffi Engine::post_event;
            engine tree_changed: c dms_engine_tree_changed, jni NativeEngine.treeChanged, uniffi Engine::tree_changed;
            engine set_time_zone: c dms_engine_set_time_zone, jni NativeEngine.setTimeZone, uniffi Engine::set_time_zone;
            engine pending_reports: c dms_engine_pending_reports, jni NativeEngine.pendingReports, uniffi Engine::pending_reports;
            engine ack_reports: c dms_engine_ack_reports, jni NativeEngine.ackReports, uniffi Engine::ack_reports;
            engine personalize: c dms_engine_personalize, jni NativeEngine.personalize, uniffi Engine::personalize;
            agent open: c dms_agent_open, jni NativeAgent.open, uniffi Agent::open;
            agent close: c dms_agent_close, jni NativeAgent.close, uniffi Agent::shutdown;
            agent provision: c dms_agent_provision, jni NativeAgent.provision, uniffi Agent::provision;
            agent accept_notification: c dms_agent_accept_notification, jni NativeAgent.acceptNotification, uniffi Agent::accept_notification;
            agent notification_info: c dms_agent_accept_notification, jni NativeNotification.infoJson, uniffi AcceptedNotification::info;
            agent run_session: c dms_agent_run_notified_session, jni NativeAgent.runSession, uniffi Agent::run_session;
            agent tick: c dms_agent_tick, jni NativeAgent.tick, uniffi Agent::tick;
            agent complete: c dms_agent_complete, jni NativeAgent.complete, uniffi Agent::complete;
            agent set_time_zone: c dms_agent_set_time_zone, jni NativeAgent.setTimeZone, uniffi Agent::set_time_zone;
            agent next_wakeup: c dms_agent_next_wakeup, jni NativeAgent.nextWakeup, uniffi Agent::next_wakeup;
            agent wakeup_window: c dms_agent_wakeup_window, jni NativeAgent.wakeupWindow, uniffi Agent::wakeup_window;
            agent post_event: c dms_agent_post_event, jni NativeAgent.postEvent, uniffi Agent::post_event;
            agent set_value: c dms_agent_set_value, jni NativeAgent.setValue, uniffi Agent::set_value;
            agent schedules: c dms_agent_schedules, jni NativeAgent.schedules, uniffi Agent::schedules;
            agent pending_reports: c dms_agent_pending_reports, jni NativeAgent.pendingReports, uniffi Agent::pending_reports;
            agent deliver_reports: c dms_agent_deliver_reports, jni NativeAgent.deliverReports, uniffi Agent::deliver_reports;
            agent reports_to_deliver: c dms_agent_reports_to_deliver, jni NativeAgent.reportsToDeliver, uniffi Agent::reports_to_deliver;
            agent personalize: c dms_agent_personalize, jni NativeAgent.personalize, uniffi Agent::personalize;
        }
    };
}
