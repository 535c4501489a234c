package io.reasonlake.flink;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Batches of lines held in Flink state: the ingest job's commit batches, the alert job's
 * micro-batches (and its alert rows before they are written to Iceberg). envelopes are buffered here until the batch
 * holds {@code maxRecords} of them or its first one is {@code maxDelayMs} old, then go out as one
 * record, the envelopes newline-joined in UTF-8 bytes (bytes cross to Python as one copy; a string
 * would be re-encoded character by character), which the Python operator behind validates and
 * commits to Iceberg in one call (one Java-to-Python crossing per batch, not per record).
 *
 * <p>The buffer is operator list state: a checkpoint stores it together with the Kafka source's
 * position, so a failover restores both and no record between the two is lost; the Python sink
 * skips what Iceberg already holds (offsets committed with every append), so none is doubled.
 * Envelopes never contain a newline (see {@link KafkaEnvelopeDeserializationSchema}).
 *
 * <p>When a batch opens (its first envelope arrives, or a restored one is waiting) an empty record
 * goes out ahead of it: the Python side reports a batch pending upstream, so a driver waiting for
 * the job to go idle does not stop it while records sit here for up to {@code maxDelayMs}.
 */
public final class EnvelopeBatcher extends AbstractStreamOperator<byte[]>
        implements OneInputStreamOperator<String, byte[]> {
    private static final long serialVersionUID = 1L;
    private static final long CHECK_EVERY_MS = 100;

    private final int maxRecords;
    private final long maxDelayMs;
    private transient List<String> buffer;
    private transient long firstAt;
    private transient boolean announced;  // the open batch's empty notice went out
    private transient ListState<String> pending;

    public EnvelopeBatcher(int maxRecords, long maxDelayMs) {
        if (maxRecords < 1 || maxDelayMs < 1) {
            throw new IllegalArgumentException("maxRecords and maxDelayMs must be positive");
        }
        this.maxRecords = maxRecords;
        this.maxDelayMs = maxDelayMs;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        pending = context.getOperatorStateStore()
                .getListState(new ListStateDescriptor<>("pending-envelopes", Types.STRING));
        buffer = new ArrayList<>();
        if (context.isRestored()) {
            for (String envelope : pending.get()) {
                buffer.add(envelope);
            }
        }
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        pending.update(buffer);
    }

    @Override
    public void open() throws Exception {
        super.open();
        firstAt = now();  // a restored batch waits at most maxDelayMs more
        schedule();
    }

    private long now() {
        return getProcessingTimeService().getCurrentProcessingTime();
    }

    private void schedule() {
        getProcessingTimeService().registerTimer(now() + Math.max(1, Math.min(CHECK_EVERY_MS, maxDelayMs / 2)), this::onTimer);
    }

    private void onTimer(long time) {
        if (!buffer.isEmpty()) {
            announce();  // a batch restored from a checkpoint
            if (time - firstAt >= maxDelayMs) {
                emit();
            }
        }
        schedule();
    }

    @Override
    public void processElement(StreamRecord<String> element) {
        if (buffer.isEmpty()) {
            firstAt = now();
        }
        buffer.add(element.getValue());
        announce();
        if (buffer.size() >= maxRecords) {
            emit();
        }
    }

    private void announce() {
        if (!announced) {
            output.collect(new StreamRecord<>(new byte[0]));
            announced = true;
        }
    }

    private void emit() {
        output.collect(new StreamRecord<>(String.join("\n", buffer).getBytes(StandardCharsets.UTF_8)));
        buffer.clear();
        announced = false;
    }

    @Override
    public void finish() throws Exception {
        if (!buffer.isEmpty()) {
            emit();
        }
        super.finish();
    }
}
