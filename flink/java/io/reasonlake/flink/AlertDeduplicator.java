package io.reasonlake.flink;

import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.time.Duration;

/**
 * Alert hygiene, step 1: one alert per message however often it is re-sent. Keyed by the message
 * key ({@code source/message_id}, field 0 of a candidate line); the first candidate of a key goes on
 * as {@code new}, every later one as {@code duplicate}. The flag is Flink keyed state (checkpointed,
 * restored on failover and from savepoints) and expires {@code ttlSeconds} after it was set, so
 * the state stays bounded.
 *
 * <p>In: {@code key TAB reason_id TAB reason_json TAB alert_json}. Out: {@code new|duplicate TAB} + in.
 * A line already marked {@code stale} passes through untouched.
 */
public final class AlertDeduplicator extends KeyedProcessFunction<String, String, String> {
    private static final long serialVersionUID = 1L;
    /** The prefix of a stale match's line (flink/alerting.py {@code stale_line}): no alert, no state. */
    public static final String STALE = "stale\t";
    private final long ttlSeconds;
    private transient ValueState<Boolean> alerted;

    public AlertDeduplicator(long ttlSeconds) {
        if (ttlSeconds < 1) {
            throw new IllegalArgumentException("ttlSeconds must be positive");
        }
        this.ttlSeconds = ttlSeconds;
    }

    @Override
    public void open(OpenContext context) {
        ValueStateDescriptor<Boolean> descriptor = new ValueStateDescriptor<>("alerted", Types.BOOLEAN);
        descriptor.enableTimeToLive(StateTtlConfig.newBuilder(Duration.ofSeconds(ttlSeconds))
                .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                .build());
        alerted = getRuntimeContext().getState(descriptor);
    }

    @Override
    public void processElement(String line, Context ctx, Collector<String> out) throws Exception {
        if (line.startsWith(STALE)) {  // a match of a stale election: on record only, passed on as it is
            out.collect(line);
            return;
        }
        if (alerted.value() == null) {
            alerted.update(true);
            out.collect("new\t" + line);
        } else {
            out.collect("duplicate\t" + line);
        }
    }
}
