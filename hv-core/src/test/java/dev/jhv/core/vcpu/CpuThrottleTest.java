package dev.jhv.core.vcpu;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The throttle without KVM: a thread stands in for the vCPU, a counter for the kick. */
class CpuThrottleTest {
    @Test
    void sleepsAsQemuDoesPerTenMillisecondSlice() {
        assertThat(CpuThrottle.sleepNanos(0)).isZero();
        assertThat(CpuThrottle.sleepNanos(20)).isEqualTo(2_500_001);
        assertThat(CpuThrottle.sleepNanos(50)).isEqualTo(10_000_001);
        assertThat(CpuThrottle.sleepNanos(99)).isBetween(989_000_000L, 991_000_000L);
        assertThat(CpuThrottle.periodNanos(50)).isEqualTo(20_000_000);
        assertThatThrownBy(() -> new CpuThrottle("t", () -> { }).set(100))
                .hasMessageContaining("cpu throttle percentage 100");
    }

    @Test
    void aTickKicksTheVcpuWhichSleepsUntilZeroEndsItAtOnce() throws Exception {
        CountDownLatch kicked = new CountDownLatch(1);
        AtomicInteger kicks = new AtomicInteger();
        CpuThrottle t = new CpuThrottle("test", () -> {
            kicks.incrementAndGet();
            kicked.countDown();
        });
        assertThat(t.percent()).isZero();
        t.set(99);
        assertThat(kicked.await(5, TimeUnit.SECONDS)).isTrue();
        CountDownLatch inSleep = new CountDownLatch(1);
        Thread vcpu = Thread.ofPlatform().start(() -> {
            inSleep.countDown();
            t.takeOwedSleep(() -> false); // owes 990 ms
        });
        assertThat(inSleep.await(5, TimeUnit.SECONDS)).isTrue();
        t.set(0);
        vcpu.join(5_000);
        assertThat(vcpu.isAlive()).isFalse();
        // cut short: far less than the 990 ms a slice at 99% owes
        assertThat(t.sleptNanos()).isLessThan(CpuThrottle.sleepNanos(99) / 2);
        // one kick per owed sleep: the timer does not kick again while the vCPU has not slept
        assertThat(kicks.get()).isEqualTo(1);
        // and no timer is left behind
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (timerAlive() && System.nanoTime() < deadline) {
            Thread.sleep(10); // polling a thread's end, bounded
        }
        assertThat(timerAlive()).isFalse();
    }

    @Test
    void aPauseEndsTheSleepToo() throws Exception {
        CountDownLatch kicked = new CountDownLatch(1);
        CpuThrottle t = new CpuThrottle("pause", kicked::countDown);
        t.set(99);
        assertThat(kicked.await(5, TimeUnit.SECONDS)).isTrue();
        java.util.concurrent.atomic.AtomicBoolean out = new java.util.concurrent.atomic.AtomicBoolean();
        Thread vcpu = Thread.ofPlatform().start(() -> t.takeOwedSleep(out::get));
        out.set(true);
        t.wake();
        vcpu.join(5_000);
        assertThat(vcpu.isAlive()).isFalse();
        assertThat(t.sleptNanos()).isLessThan(CpuThrottle.sleepNanos(99) / 2);
        assertThat(t.percent()).isEqualTo(99); // a pause ends the sleep, not the throttle
        t.set(0);
    }

    private static boolean timerAlive() {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(x -> x.getName().equals("cpu-throttle-test"));
    }
}
