package dev.jhv.migration.converge;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The trigger and the throttle steps on made-up figures (no vCPUs, no clock). */
class AutoConvergeTest {
    static final long S = 1_000_000_000L;
    static final long MIB = 1 << 20;

    /** A vCPU whose run time the test sets: {@code busy} of every second, less what its throttle takes. */
    static final class FakeVcpu implements ThrottledVcpu {
        final int index;
        double busy;
        int pct;
        long run;
        long slept;

        FakeVcpu(int index, double busy) {
            this.index = index;
            this.busy = busy;
        }

        void second() {
            slept += (long) (S * pct / 100.0);
            run += (long) (S * (1 - pct / 100.0) * busy);
        }

        @Override public int index() { return index; }
        @Override public int percent() { return pct; }
        @Override public void set(int p) { pct = p; }
        @Override public long runNanos() { return run; }
        @Override public long sleptNanos() { return slept; }
        @Override public long waitNanos() { return 0; }
    }

    static ThrottleSettings qemu() {
        return new ThrottleSettings(50, 20, 10, 99, false, false);
    }

    static ThrottleSettings jhv() {
        return new ThrottleSettings(50, 20, 10, 99, false, true);
    }

    /** Runs periods of a second each in which the guest dirties {@code dirty} and the link sends {@code sent}. */
    static List<Integer> periods(AutoConverge c, List<FakeVcpu> cpus, int n, long dirty, long sent) {
        List<Integer> seen = new ArrayList<>();
        for (int k = 1; k <= n; k++) {
            cpus.forEach(FakeVcpu::second);
            c.synced(dirty, sent * k, k * S);
            seen.add(c.percent());
        }
        return seen;
    }

    @Test
    void qemusTriggerNeedsTwoHighPeriodsThenStepsByTheIncrementUpToTheMax() {
        var cpus = List.of(new FakeVcpu(0, 1), new FakeVcpu(1, 0.01));
        var c = new AutoConverge(List.copyOf(cpus), AutoConvergeTest::qemu, 0, 0);
        List<Integer> seen = periods(c, cpus, 40, 100 * MIB, 100 * MIB);
        assertThat(seen.subList(0, 6)).containsExactly(0, 20, 20, 30, 30, 40);
        assertThat(seen.get(39)).isEqualTo(99);
        assertThat(cpus).allMatch(v -> v.pct == 99); // one throttle for all, the idle CPU too
    }

    @Test
    void aLowPeriodDoesNotTriggerAndIsNotCountedAgainstTheNextHighOne() {
        var cpus = List.of(new FakeVcpu(0, 1));
        var c = new AutoConverge(List.copyOf(cpus), AutoConvergeTest::qemu, 0, 0);
        // dirtied 50 MiB of 100 MiB sent is not above 50%
        assertThat(periods(c, cpus, 3, 50 * MIB, 100 * MIB)).containsOnly(0);
    }

    @Test
    void aPeriodShorterThanASecondAddsUpWithTheNext() {
        var cpus = List.of(new FakeVcpu(0, 1));
        var c = new AutoConverge(List.copyOf(cpus), AutoConvergeTest::qemu, 0, 0);
        c.synced(60 * MIB, 100 * MIB, S / 2); // too short: not judged
        c.synced(60 * MIB, 200 * MIB, S);      // 120 of 200: high (1)
        c.synced(60 * MIB, 300 * MIB, 2 * S);  // 60 of 100: high (2): throttles
        assertThat(c.percent()).isEqualTo(20);
    }

    @Test
    void tailslowShrinksTheStepToWhatBringsTheDirtyingToTheThreshold() {
        var s = new ThrottleSettings(50, 20, 10, 99, true, false);
        // 90% throttled, dirtying 60 against a threshold of 50: CPU 10% -> ideal 8.3%, step 1 not 10
        assertThat(ThrottleStep.qemu(90, s, 60, 50)).isEqualTo(92);
        assertThat(ThrottleStep.qemu(90, qemu(), 60, 50)).isEqualTo(99);
        assertThat(ThrottleStep.qemu(0, s, 60, 50)).isEqualTo(20);
    }

    @Test
    void jhvThrottlesOnlyTheBusyVcpuAndHardFromTheFirstHighPeriod() {
        var writer = new FakeVcpu(0, 1);
        var idle = new FakeVcpu(1, 0.02);
        var cpus = List.of(writer, idle);
        var c = new AutoConverge(List.copyOf(cpus), AutoConvergeTest::jhv, 0, 0);
        List<Integer> seen = periods(c, cpus, 3, 100 * MIB, 100 * MIB);
        // dirtied all it sent, threshold half: the CPU it may keep is 100% x 0.5 / 4
        assertThat(seen.get(0)).isEqualTo(88);
        assertThat(seen.get(2)).isGreaterThan(95);
        assertThat(idle.pct).isZero();
        // throttled, the writer still runs all of the time it is given: it stays a dirtier
        assertThat(c.runPercents().get(0)).isEqualTo(100);
    }

    @Test
    void aThrottleNeverGoesDownWhileTheMigrationRunsAndStopEndsEveryOne() {
        var a = new FakeVcpu(0, 1);
        var b = new FakeVcpu(1, 1);
        var cpus = List.of(a, b);
        var c = new AutoConverge(List.copyOf(cpus), AutoConvergeTest::jhv, 0, 0);
        periods(c, cpus, 1, 100 * MIB, 100 * MIB);
        int pa = a.pct;
        assertThat(pa).isPositive();
        assertThat(b.pct).isEqualTo(pa);
        b.busy = 0.01; // b halts from now on and looks idle; a goes on dirtying
        a.second();
        b.second();
        c.synced(100 * MIB, 200 * MIB, 2 * S);
        assertThat(a.pct).isGreaterThan(pa);
        assertThat(b.pct).isEqualTo(pa);
        c.stop();
        assertThat(cpus).allMatch(v -> v.pct == 0);
        c.synced(500 * MIB, 300 * MIB, 3 * S);
        assertThat(c.percent()).isZero();
    }

    @Test
    void withNoVcpuBusyAllAreThrottled() {
        assertThat(VcpuActivity.dirtiers(List.of(0.04, 0.01))).containsExactly(true, true);
        assertThat(VcpuActivity.dirtiers(List.of(0.9, 0.05))).containsExactly(true, false);
        assertThat(VcpuActivity.dirtiers(List.of(0.9, 0.6))).containsExactly(true, true);
    }
}
