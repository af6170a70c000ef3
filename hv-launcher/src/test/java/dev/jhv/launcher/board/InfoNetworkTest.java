package dev.jhv.launcher.board;

import dev.jhv.core.net.NetBackend;
import dev.jhv.devices.board.DeviceSpec;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** info network's layout, against QEMU 7.2's output for the same command lines. */
class InfoNetworkTest {
    private record Fake(String id, String info) implements NetBackend {
        public int vnetHeaderLength() {
            return 0;
        }

        public boolean send(List<MemorySegment> parts) {
            return true;
        }

        public void start(Receiver receiver) {
        }

        public void resumeReceive() {
        }

        public void close() {
        }
    }

    @Test
    void unpeeredNetdevsFirstThenEachNicWithItsNetdevBelowIt() {
        var netdevs = new LinkedHashMap<String, NetBackend>();
        netdevs.put("n0", new Fake("n0", "n0: index=0,type=user,net=10.0.2.0,restrict=off"));
        netdevs.put("t0", new Fake("t0", "t0: index=0,type=tap,ifname=tap0,script=no,downscript=no"));
        netdevs.put("s9", new Fake("s9", "s9: index=0,type=stream,"));
        var nics = InfoNetwork.fromConfig(List.of(
                new DeviceSpec.VirtioNetPci(null, "n0", Optional.empty(), null),
                new DeviceSpec.VirtioNetPci("nic1", "t0", Optional.empty(), "52:54:00:aa:bb:cc"),
                new DeviceSpec.VirtioNetPci(null, null, Optional.empty(), null)));
        assertThat(InfoNetwork.render(nics, netdevs)).isEqualTo("""
                s9: index=0,type=stream,
                virtio-net-pci.0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:12:34:56
                 \\ n0: index=0,type=user,net=10.0.2.0,restrict=off
                nic1: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:aa:bb:cc
                 \\ t0: index=0,type=tap,ifname=tap0,script=no,downscript=no
                virtio-net-pci.2: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:12:34:57
                """);
    }
}
