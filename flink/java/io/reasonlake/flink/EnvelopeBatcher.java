package io.reasonlake.flink;

import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Groups envelope strings into newline-joined batches so the Python operator behind it is called
 * once per batch instead of once per record (each Java-to-Python crossing costs more than the
 * Python work on one record).
 *
 * <p>A batch goes out when it holds {@code maxRecords} envelopes or {@code maxDelayMs} after its
 * first one. While nothing arrives, an empty string goes out every {@code maxDelayMs}: a tick that
 * lets the Python side commit its own time-based batches without Flink timers (which need a keyed
 * stream, hence a shuffle). Envelopes never contain a newline (JSON with base64 values).
 *
 * <p>Holds no state: what it buffers when the job dies was never committed to Iceberg, and the next
 * run reads it again from Kafka (the offsets live in Iceberg, not in Flink checkpoints).
 */
public final class EnvelopeBatcher extends AbstractStreamOperator<String>
        implements OneInputStreamOperator<String, String> {
    private static final long serialVersionUID = 1L;

    private final int maxRecords;
    private final long maxDelayMs;
    private transient StringBuilder buffer;
    private transient int count;
    private transient long firstAt;

    public EnvelopeBatcher(int maxRecords, long maxDelayMs) {
        if (maxRecords < 1 || maxDelayMs < 1) {
            throw new IllegalArgumentException("maxRecords and maxDelayMs must be positive");
        }
        this.maxRecords = maxRecords;
        this.maxDelayMs = maxDelayMs;
    }

    @Override
    public void open() throws Exception {
        super.open();
        buffer = new StringBuilder();
        count = 0;
        schedule();
    }

    private void schedule() {
        long now = getProcessingTimeService().getCurrentProcessingTime();
        getProcessingTimeService().registerTimer(now + maxDelayMs, this::onTick);
    }

    private void onTick(long time) {
        if (count == 0) {
            output.collect(new StreamRecord<>(""));
        } else if (time - firstAt >= maxDelayMs) {
            emit();
        }
        schedule();
    }

    @Override
    public void processElement(StreamRecord<String> element) {
        if (count == 0) {
            firstAt = getProcessingTimeService().getCurrentProcessingTime();
        } else {
            buffer.append('\n');
        }
        buffer.append(element.getValue());
        if (++count >= maxRecords) {
            emit();
        }
    }

    private void emit() {
        output.collect(new StreamRecord<>(buffer.toString()));
        buffer.setLength(0);
        count = 0;
    }

    @Override
    public void finish() throws Exception {
        if (count > 0) {
            emit();
        }
        super.finish();
    }
}
