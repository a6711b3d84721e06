package org.dmsched.android.platform

import org.dmsched.Engine
import org.dmsched.Firing
import org.dmsched.Report
import org.dmsched.ReportSink
import org.dmsched.android.core.ReportFeed
import org.dmsched.android.core.SchedulerEngine
import org.dmsched.android.core.WakeupWindow

/**
 * [SchedulerEngine] over the UniFFI `org.dmsched.Engine` (JNA). The caller
 * opens the engine (`Engine.open(settings, tree, executor, reports, …)`) and
 * keeps it for `edit { engine.submit(...) }`; this adapter does not own it.
 */
class UniffiSchedulerEngine(val engine: Engine) : SchedulerEngine<Firing> {
    override fun wakeupWindow(): WakeupWindow? {
        engine.wakeupWindow()?.let { return WakeupWindow(it.earliestMs, it.latestMs) }
        return engine.nextWakeup()?.let { WakeupWindow(it, it) }
    }

    override fun tick(nowMs: Long): List<Firing> = engine.tick(nowMs)

    override fun postEvent(name: String, fieldsJson: String?, nowMs: Long): List<Firing> =
        engine.postEvent(name, fieldsJson, nowMs)

    override fun treeChanged(uri: String, nowMs: Long): List<Firing> = engine.treeChanged(uri, nowMs)

    override fun setTimeZone(zone: String, nowMs: Long) = engine.setTimeZone(zone, nowMs)
}

/**
 * The engine's `reports` callback feeding a [ReportFeed]: open the engine
 * with `Engine.open(…, reports = FeedReportSink(feed), …)` and collect
 * `feed.reports()` (a Flow of every report as it becomes ready).
 */
class FeedReportSink(val feed: ReportFeed<Report> = ReportFeed()) : ReportSink {
    override fun reportReady(report: Report) = feed.publish(report)
}
