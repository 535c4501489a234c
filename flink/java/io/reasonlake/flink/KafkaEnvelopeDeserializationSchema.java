package io.reasonlake.flink;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Turns every Kafka record into one JSON "envelope" string that keeps what PyFlink's
 * value-only deserializers drop: topic, partition, offset, timestamp and the raw value bytes
 * (base64, so payloads that are not UTF-8 reach the Python validator intact).
 *
 * <p>Never throws on a record: a null value becomes {@code "v":null}, and the Python side
 * routes it to the rejected table with its reason.
 */
public final class KafkaEnvelopeDeserializationSchema implements KafkaRecordDeserializationSchema<String> {
    private static final long serialVersionUID = 1L;

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<String> out) {
        StringBuilder sb = new StringBuilder(64 + (record.value() == null ? 0 : record.value().length * 4 / 3));
        sb.append("{\"t\":\"").append(escape(record.topic()))
          .append("\",\"p\":").append(record.partition())
          .append(",\"o\":").append(record.offset())
          .append(",\"ts\":").append(record.timestamp())
          .append(",\"v\":");
        if (record.value() == null) {
            sb.append("null");
        } else {
            sb.append('"').append(Base64.getEncoder().encodeToString(record.value())).append('"');
        }
        sb.append('}');
        out.collect(sb.toString());
    }

    private static String escape(String s) {
        // Kafka topic names are [a-zA-Z0-9._-]; escape defensively anyway.
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    @Override
    public TypeInformation<String> getProducedType() {
        return Types.STRING;
    }
}
