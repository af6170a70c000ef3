package dev.jhv.core.irq;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The router against a recording fake of its KVM calls: what reaches KVM, and when. */
class GsiRouterTest {
    /** What the router asked of KVM, in order. */
    static final class RecordingKvm implements IrqchipCalls {
        final List<GsiRoutingTable> routings = new ArrayList<>();
        final List<String> levels = new ArrayList<>();
        RuntimeException refuseRouting;

        @Override
        public int maxRoutes() {
            return 64;
        }

        @Override
        public synchronized void setRouting(GsiRoutingTable table) {
            if (refuseRouting != null) {
                throw refuseRouting;
            }
            routings.add(table);
        }

        @Override
        public synchronized void setLevel(int gsi, boolean level) {
            levels.add(gsi + "=" + (level ? 1 : 0));
        }
    }

    private final RecordingKvm kvm = new RecordingKvm();

    @Test
    void theBoardsTableIsSetAtOnceAndEachCommitIsOneCall() {
        GsiRouter r = new GsiRouter(kvm, GsiRoutingTableTest.PC);
        assertThat(kvm.routings).containsExactly(GsiRoutingTableTest.PC);

        MsiRoute msi = new MsiRoute(24, 0xfee00000, 0, 0x41);
        r.route(msi);
        assertThat(kvm.routings).hasSize(2);
        assertThat(kvm.routings.getLast().routes(24)).containsExactly(msi);
        assertThat(kvm.routings.getLast().routes()).containsAll(GsiRoutingTableTest.PC.routes());

        MsiRoute moved = new MsiRoute(24, 0xfee01000, 0, 0x42);
        r.route(moved); // replace
        assertThat(kvm.routings).hasSize(3);
        assertThat(kvm.routings.getLast().routes(24)).containsExactly(moved);

        r.route(moved); // the same again: KVM already has it
        assertThat(kvm.routings).hasSize(3);

        // several changes, one call
        r.commit(t -> t.without(24).with(new MsiRoute(25, 0xfee00000, 0, 0x43)).with(new MsiRoute(26, 0xfee00000, 0, 0x44)));
        assertThat(kvm.routings).hasSize(4);
        assertThat(kvm.routings.getLast().routes(24)).isEmpty();
        assertThat(r.table()).isEqualTo(kvm.routings.getLast());

        r.unroute(25);
        r.unroute(26);
        assertThat(kvm.routings).hasSize(6);
        assertThat(r.table()).isEqualTo(GsiRoutingTableTest.PC);
    }

    @Test
    void aRefusedCommitLeavesTheTableKvmHas() {
        GsiRouter r = new GsiRouter(kvm, GsiRoutingTableTest.PC);
        kvm.refuseRouting = new IllegalStateException("KVM_SET_GSI_ROUTING: EINVAL");
        assertThatThrownBy(() -> r.route(new MsiRoute(30, 0xfee00000, 0, 0x41)))
                .hasMessageContaining("KVM_SET_GSI_ROUTING");
        assertThat(r.table()).isEqualTo(GsiRoutingTableTest.PC);
        kvm.refuseRouting = null;
        assertThatThrownBy(() -> r.route(new MsiRoute(64, 0xfee00000, 0, 0x41)))
                .hasMessage("GSI 64 is not below KVM's 64");
        assertThat(kvm.routings).hasSize(1);
    }

    @Test
    void msiGsisAreHandedOutAboveTheIrqchipPinsAndComeBack() {
        GsiRouter r = new GsiRouter(kvm, GsiRoutingTableTest.PC);
        r.route(new MsiRoute(25, 0xfee00000, 0, 0x40)); // routed by hand: not free
        int a = r.allocateGsi();
        int b = r.allocateGsi();
        assertThat(a).isEqualTo(24);
        assertThat(b).isEqualTo(26);
        r.route(new MsiRoute(b, 0xfee00000, 0, 0x41));
        r.releaseGsi(b); // takes its route away
        assertThat(r.table().routes(b)).isEmpty();
        assertThat(r.allocateGsi()).isEqualTo(b);
        assertThatThrownBy(() -> r.releaseGsi(3)).hasMessage("GSI 3 was not allocated");

        for (int i = 0; i < 64 - 27; i++) {
            r.allocateGsi();
        }
        assertThatThrownBy(r::allocateGsi).hasMessageContaining("no free GSI for an MSI route: GSIs 24 to 63");
    }

    @Test
    void twoSourcesOnOneGsiHoldItUntilBothDropAndOnlyChangesAreSent() {
        GsiRouter r = new GsiRouter(kvm, GsiRoutingTableTest.PC);
        IrqLine a = r.source(11);
        IrqLine b = r.source(11);
        a.setLevel(true);
        b.setLevel(true);
        a.setLevel(true); // again: nothing new
        a.setLevel(false);
        assertThat(r.level(11)).isTrue();
        b.setLevel(false);
        b.setLevel(false);
        assertThat(r.level(11)).isFalse();
        assertThat(kvm.levels).containsExactly("11=1", "11=0");

        a.pulse(); // an edge source still makes its edge
        assertThat(kvm.levels).containsExactly("11=1", "11=0", "11=1", "11=0");
        b.setLevel(true);
        a.pulse(); // no edge on a line another source holds up, as on a wired OR
        assertThat(kvm.levels).containsExactly("11=1", "11=0", "11=1", "11=0", "11=1");

        IrqLine other = r.source(12);
        other.setLevel(false); // low already
        assertThat(kvm.levels).hasSize(5);
        assertThatThrownBy(() -> r.source(64)).hasMessageContaining("GSI 64");
    }

    @Test
    void manyThreadsOnOneLineLeaveKvmWithTheOrOfTheirLevels() throws Exception {
        GsiRouter r = new GsiRouter(kvm, GsiRoutingTableTest.PC);
        int threads = 4;
        int rounds = 20_000;
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            IrqLine line = r.source(9);
            ts.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                for (int k = 0; k < rounds; k++) {
                    line.setLevel(true);
                    line.setLevel(false);
                }
            }));
        }
        for (Thread t : ts) {
            t.join();
        }
        // every call a change (1, 0, 1, 0, ...), in the order the line decided them, ending low
        assertThat(kvm.levels).isNotEmpty();
        for (int i = 0; i < kvm.levels.size(); i++) {
            assertThat(kvm.levels.get(i)).as("call %d", i).isEqualTo(i % 2 == 0 ? "9=1" : "9=0");
        }
        assertThat(kvm.levels.getLast()).isEqualTo("9=0");
        assertThat(r.level(9)).isFalse();
    }
}
