package io.reasonlake.flink;

/**
 * One reason's rate window as {@link AlertRateLimiter} keeps it in keyed state, with its decisions and no
 * Flink in it (so they can be checked on their own): at most {@code maxAlerts} alerts per window of
 * {@code windowMs}, the rest suppressed and counted for one digest when the window closes. A window opens
 * with the first alert after the last one closed. It closes on its timer ({@link #close()}) or, when an
 * alert arrives after its end before the timer fired, early, in {@link #offer}.
 */
final class RateWindow {
    Long start;  // when the open window opened; null: none yet
    int sent;  // alerts sent in it
    int suppressed;  // alerts suppressed in it (its digest counts them)

    RateWindow(Long start, int sent, int suppressed) {
        this.start = start;
        this.sent = sent;
        this.suppressed = suppressed;
    }

    /** What one new alert at processing time {@code now} does. */
    static final class Decision {
        final boolean send;  // false: suppressed
        final long closedEnd;  // the end of the window that ended before now and closes here; -1 if none was open
        final int closedSuppressed;  // what that window suppressed and its timer has not told: a digest due now
        final long timer;  // the end of the open window, when this is its first suppressed alert; -1 if not

        Decision(boolean send, long closedEnd, int closedSuppressed, long timer) {
            this.send = send;
            this.closedEnd = closedEnd;
            this.closedSuppressed = closedSuppressed;
            this.timer = timer;
        }
    }

    Decision offer(long now, int maxAlerts, long windowMs) {
        long closedEnd = -1;
        int closedSuppressed = 0;
        if (start == null || now >= start + windowMs) {
            if (start != null) {
                closedEnd = start + windowMs;
                closedSuppressed = close();
            }
            start = now;
            sent = 0;
        }
        if (sent < maxAlerts) {
            sent += 1;
            return new Decision(true, closedEnd, closedSuppressed, -1);
        }
        suppressed += 1;
        return new Decision(false, closedEnd, closedSuppressed, suppressed == 1 ? start + windowMs : -1);
    }

    /** The open window closes: how many alerts it suppressed (its digest's count; 0: no digest). */
    int close() {
        int s = suppressed;
        suppressed = 0;
        return s;
    }
}
