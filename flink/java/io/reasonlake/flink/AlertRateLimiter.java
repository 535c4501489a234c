package io.reasonlake.flink;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.time.Instant;

/**
 * Alert hygiene, step 2: per reason, at most {@code maxAlerts} alerts per window of
 * {@code windowMs} (processing time); the rest are suppressed and counted, and when the window
 * closes one digest alert tells how many. A reason's window opens with its first alert after the
 * last one closed (not on the clock's multiples of {@code windowMs}), so a burst shorter than the
 * window is never cut in two by a boundary and gets {@code maxAlerts} alerts and one digest.
 * Keyed by reason id (field 2 of a line from {@link AlertDeduplicator}); the decisions are
 * {@link RateWindow}'s; counts, the open window and the last suppressed reason are Flink keyed state,
 * the window's end a processing-time timer (both checkpointed).
 *
 * <p>Main output: the JSON sent to {@code feedback.alerts} (alerts and digests, each with a
 * {@code kind}). Side output {@link #ACCOUNTING}: every line with its outcome ({@code sent},
 * {@code duplicate}, {@code suppressed}, {@code digest}; a {@code stale} line from the classify step goes
 * there as it is) for the Iceberg table and the counters.
 */
public final class AlertRateLimiter extends KeyedProcessFunction<String, String, String> {
    private static final long serialVersionUID = 1L;
    public static final OutputTag<String> ACCOUNTING = new OutputTag<String>("alert-accounting", Types.STRING) {};

    /** The side output of accounting lines (a method: static fields are awkward over Py4J). */
    public static OutputTag<String> accounting() {
        return ACCOUNTING;
    }

    private final int maxAlerts;
    private final long windowMs;
    private transient ValueState<Long> windowStart;
    private transient ValueState<Integer> sent;
    private transient ValueState<Integer> suppressed;
    private transient ValueState<String> reason;

    public AlertRateLimiter(int maxAlerts, long windowMs) {
        if (maxAlerts < 1 || windowMs < 1) {
            throw new IllegalArgumentException("maxAlerts and windowMs must be positive");
        }
        this.maxAlerts = maxAlerts;
        this.windowMs = windowMs;
    }

    @Override
    public void open(OpenContext context) {
        windowStart = getRuntimeContext().getState(new ValueStateDescriptor<>("window-start", Types.LONG));
        sent = getRuntimeContext().getState(new ValueStateDescriptor<>("sent", Types.INT));
        suppressed = getRuntimeContext().getState(new ValueStateDescriptor<>("suppressed", Types.INT));
        reason = getRuntimeContext().getState(new ValueStateDescriptor<>("reason", Types.STRING));
    }

    @Override
    public void processElement(String line, Context ctx, Collector<String> out) throws Exception {
        // status TAB key TAB reason_id TAB reason_json TAB alert_json
        String[] f = line.split("\t", 5);
        String rest = line.substring(f[0].length() + 1);
        if ("stale".equals(f[0])) {  // on record only (alerts.alerts, outcome stale): nothing sent, not counted
            ctx.output(ACCOUNTING, line);
            return;
        }
        if (!"new".equals(f[0])) {
            ctx.output(ACCOUNTING, "duplicate\t" + rest);
            return;
        }
        RateWindow window = load();
        RateWindow.Decision decision = window.offer(ctx.timerService().currentProcessingTime(), maxAlerts, windowMs);
        if (decision.closedSuppressed > 0) {  // the last window ended before its timer fired: its digest now
            digest(decision.closedEnd, decision.closedSuppressed, ctx, out);
            ctx.timerService().deleteProcessingTimeTimer(decision.closedEnd);
        }
        if (decision.send) {
            out.collect(f[4]);
            ctx.output(ACCOUNTING, "sent\t" + rest);
        } else {
            if (decision.timer >= 0) {
                ctx.timerService().registerProcessingTimeTimer(decision.timer);
            }
            reason.update(f[3]);
            ctx.output(ACCOUNTING, "suppressed\t" + rest);
        }
        store(window);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<String> out) throws Exception {
        RateWindow window = load();
        int suppressedInWindow = window.close();
        if (suppressedInWindow > 0) {
            digest(timestamp, suppressedInWindow, ctx, out);
        }
        store(window);
    }

    private RateWindow load() throws Exception {
        Integer s = sent.value();
        Integer q = suppressed.value();
        return new RateWindow(windowStart.value(), s == null ? 0 : s, q == null ? 0 : q);
    }

    private void store(RateWindow window) throws Exception {
        windowStart.update(window.start);
        sent.update(window.sent);
        suppressed.update(window.suppressed);
    }

    /** Emits the digest of the window ending at {@code end}, which suppressed {@code count} alerts. */
    private void digest(long end, int count, Context ctx, Collector<String> out) throws Exception {
        String reasonId = ctx.getCurrentKey();
        String digest = "{\"kind\": \"digest\", \"alert_id\": \"digest/" + reasonId + "/" + (end - windowMs)
                + "\", \"reason_id\": \"" + reasonId.replace("\\", "\\\\").replace("\"", "\\\"")
                + "\", \"suppressed\": " + count
                + ", \"window_start\": \"" + Instant.ofEpochMilli(end - windowMs)
                + "\", \"window_end\": \"" + Instant.ofEpochMilli(end)
                + "\", \"reason\": " + reason.value() + "}";
        out.collect(digest);
        ctx.output(ACCOUNTING, "digest\t\t" + reasonId + "\t" + reason.value() + "\t" + digest);
    }
}
