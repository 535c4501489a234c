package io.reasonlake.flink;

import org.apache.flink.api.java.functions.KeySelector;

/**
 * Keys a tab-separated line by one of its fields (in Java: keying a stream with a Python function
 * would add a Python hop per record).
 */
public final class FieldKey implements KeySelector<String, String> {
    private static final long serialVersionUID = 1L;
    private final int index;

    public FieldKey(int index) {
        this.index = index;
    }

    @Override
    public String getKey(String line) {
        return field(line, index);
    }

    /** The {@code index}-th tab-separated field of {@code line} ("" when it has fewer). */
    static String field(String line, int index) {
        int start = 0;
        for (int i = 0; i < index; i++) {
            int tab = line.indexOf('\t', start);
            if (tab < 0) {
                return "";
            }
            start = tab + 1;
        }
        int end = line.indexOf('\t', start);
        return end < 0 ? line.substring(start) : line.substring(start, end);
    }
}
