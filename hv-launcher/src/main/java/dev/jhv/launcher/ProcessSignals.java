package dev.jhv.launcher;

import java.io.PrintStream;
import sun.misc.Signal;

/**
 * SIGINT, SIGTERM and SIGHUP end jhv as they end QEMU: one "terminating on signal N" line, then the same path as
 * "quit" (a savevm under way finishes first, a migration is cancelled), exit status 0. Without this the JVM's
 * default would exit at once with 128+N, tearing down a save.
 */
final class ProcessSignals {
    private static volatile Runnable quit;
    private static volatile PrintStream err = System.err;

    private ProcessSignals() { }

    /** Installs the handlers for this process (the real jhv only: never in a test's JVM). */
    static void install(PrintStream errors) {
        err = errors;
        for (String name : new String[] {"INT", "TERM", "HUP"}) {
            try {
                Signal.handle(new Signal(name), ProcessSignals::terminate);
            } catch (IllegalArgumentException e) {
                // the JVM keeps this one (-Xrs, or a debugger's): leave its default
            }
        }
    }

    /** What a signal does once the machine exists; before that (and after, with null) jhv just exits. */
    static void onTerminate(Runnable action) {
        quit = action;
    }

    private static void terminate(Signal s) {
        err.println("jhv: terminating on signal " + s.getNumber());
        err.flush();
        Runnable q = quit;
        if (q != null) {
            q.run();
        } else {
            Runtime.getRuntime().exit(0);
        }
    }
}
