package io.reasonlake.flink;

/**
 * Checks {@link RateWindow}'s decisions (run by tests/unit/test_rate_window.py): prints one line per case
 * and exits 1 at the first wrong decision.
 */
public final class RateWindowCheck {
    private static final int MAX = 2;
    private static final long WINDOW = 1000;

    public static void main(String[] args) {
        // a burst: MAX alerts sent, the rest suppressed; the first suppressed one asks for the window's timer
        RateWindow w = new RateWindow(null, 0, 0);
        expect("burst, 1st", w.offer(100, MAX, WINDOW), true, -1, 0, -1);
        expect("burst, 2nd", w.offer(110, MAX, WINDOW), true, -1, 0, -1);
        expect("burst, 3rd", w.offer(120, MAX, WINDOW), false, -1, 0, 1100);
        expect("burst, 4th", w.offer(130, MAX, WINDOW), false, -1, 0, -1);
        check("the timer closes the window with its two suppressed alerts", w.close() == 2);
        check("a closed window has nothing more to tell", w.close() == 0);

        // the next window opens with the next alert, not on a multiple of the window
        expect("after the timer", w.offer(1700, MAX, WINDOW), true, 1100, 0, -1);  // closed, nothing left to tell
        check("the window opened at that alert", w.start == 1700 && w.sent == 1);

        // early digest: an alert after the window's end, before its timer fired, closes it and opens the next
        w = new RateWindow(null, 0, 0);
        w.offer(0, MAX, WINDOW);
        w.offer(10, MAX, WINDOW);
        expect("early, suppressed", w.offer(20, MAX, WINDOW), false, -1, 0, 1000);
        expect("early, after the end", w.offer(1500, MAX, WINDOW), true, 1000, 1, -1);
        check("the new window opened at 1500", w.start == 1500 && w.sent == 1 && w.suppressed == 0);
        check("the old window's timer, should it still fire, finds nothing", w.close() == 0);

        // a window that suppressed nothing closes silently, early or not
        w = new RateWindow(null, 0, 0);
        w.offer(0, MAX, WINDOW);
        expect("quiet window, next alert after its end", w.offer(5000, MAX, WINDOW), true, 1000, 0, -1);

        // the state as Flink restores it (boxed values, an open window with suppressed alerts)
        w = new RateWindow(200L, MAX, 3);
        expect("restored, still open", w.offer(900, MAX, WINDOW), false, -1, 0, -1);
        check("restored, counted", w.suppressed == 4);
        System.out.println("all decisions right");
    }

    private static void expect(String name, RateWindow.Decision d, boolean send, long closedEnd, int closedSuppressed,
            long timer) {
        check(name + ": send=" + d.send + " closedEnd=" + d.closedEnd + " closedSuppressed=" + d.closedSuppressed
                + " timer=" + d.timer, d.send == send && d.closedEnd == closedEnd
                && d.closedSuppressed == closedSuppressed && d.timer == timer);
    }

    private static void check(String what, boolean ok) {
        System.out.println((ok ? "ok   " : "FAIL ") + what);
        if (!ok) {
            System.exit(1);
        }
    }
}
