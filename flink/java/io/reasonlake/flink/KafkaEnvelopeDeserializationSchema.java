package io.reasonlake.flink;

import java.util.Base64;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Turns every Kafka record into one "envelope" line that keeps what PyFlink's value-only
 * deserializers drop: {@code topic TAB partition TAB offset TAB timestamp TAB value}, the value in
 * base64 (so payloads that are not UTF-8 reach the Python validator intact) or {@code -} for a
 * null value. Kafka topic names have no tab or newline, base64 neither: an envelope is one line of
 * ASCII, cheap to split ({@code flink.contract.parse_envelope}).
 *
 * <p>Never throws on a record: the Python side routes a null value to the rejected table with its
 * reason.
 */
public final class KafkaEnvelopeDeserializationSchema implements KafkaRecordDeserializationSchema<String> {
    private static final long serialVersionUID = 1L;

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<String> out) {
        byte[] value = record.value();
        StringBuilder sb = new StringBuilder(64 + (value == null ? 0 : value.length * 4 / 3));
        sb.append(record.topic()).append('\t')
          .append(record.partition()).append('\t')
          .append(record.offset()).append('\t')
          .append(record.timestamp()).append('\t')
          .append(value == null ? "-" : Base64.getEncoder().encodeToString(value));
        out.collect(sb.toString());
    }

    @Override
    public TypeInformation<String> getProducedType() {
        return Types.STRING;
    }
}
