package dev.jhv.migration.multifd;

import dev.jhv.migration.channel.MigrationChannel;
import dev.jhv.migration.channel.MigrationUri;
import dev.jhv.migration.stream.MigrationException;
import dev.jhv.migration.stream.RamBlock;
import dev.jhv.migration.stream.RamStats;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The sender and receiver over real loopback sockets, driven as the main stream's records drive them. */
class MultifdChannelsTest {
    private static final int PAGES = 512;
    private static final int PAGE = 4096;

    private final RamBlock source = new RamBlock("pc.ram", MemorySegment.ofArray(new byte[PAGES * PAGE]));
    private final RamBlock destination = new RamBlock("pc.ram", MemorySegment.ofArray(new byte[PAGES * PAGE]));

    /** A sender and receiver connected over tcp loopback with {@code n} channels. */
    private record Link(MultifdSender sender, MultifdReceiver receiver, MigrationChannel.Listener listener,
                        MigrationChannel.In main) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            sender.abort();
            receiver.close();
            main.close();
            listener.close();
        }
    }

    private Link link(int n, List<RamBlock> destinationBlocks) throws Exception {
        var listener = MigrationChannel.listen(new MigrationUri.Tcp("127.0.0.1", 0));
        var uri = new MigrationUri.Tcp("127.0.0.1", listener.localPort());
        var mainOut = CompletableFuture.supplyAsync(() -> {
            try {
                return MigrationChannel.openOutgoing(uri);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        var main = listener.accept(true);
        mainOut.get();
        var receiver = new MultifdReceiver(listener::acceptNext, destinationBlocks, 10_000);
        receiver.start();
        var sender = MultifdSender.open(n, i -> MigrationChannel.openOutgoing(uri), List.of(source),
                new RamStats(), 0);
        return new Link(sender, receiver, listener, main);
    }

    private void fill(int page, byte value) {
        source.segment().asSlice((long) page * PAGE, PAGE).fill(value);
    }

    private byte landed(int page) {
        return destination.segment().get(ValueLayout.JAVA_BYTE, (long) page * PAGE + 100);
    }

    @Test
    void aPageSentAgainOnAnotherChannelInTheNextPassLandsInPassOrder() throws Exception {
        try (Link l = link(2, List.of(destination))) {
            l.receiver().expect(2);
            for (int p = 0; p < PAGES; p++) {
                fill(p, (byte) 1);
                l.sender().page(source, (long) p * PAGE);
            }
            long first = l.sender().sync();
            l.receiver().sync(first);
            // page 0 went in the first packet (channel 0); in this pass it goes in the next packet in turn
            fill(0, (byte) 2);
            fill(7, (byte) 0); // a page that became zero must be zeroed on the destination, not skipped
            l.sender().page(source, 0);
            l.sender().page(source, 7L * PAGE);
            long second = l.sender().sync();
            assertThat(second).isEqualTo(first + 1);
            l.receiver().sync(second);
            assertThat(landed(0)).isEqualTo((byte) 2);
            assertThat(landed(7)).isEqualTo((byte) 0);
            assertThat(landed(PAGES - 1)).isEqualTo((byte) 1);
            assertThat(l.sender().bytes()).isGreaterThan((long) PAGES * PAGE);
            l.sender().close();
        }
    }

    @Test
    void aChannelCountTheMainStreamDoesNotAnnounceIsRefused() throws Exception {
        try (Link l = link(2, List.of(destination))) {
            assertThatThrownBy(() -> l.receiver().expect(3)).isInstanceOf(MigrationException.class)
                    .hasMessageContaining("the channels say there are 2 of them, the main stream says 3");
        }
    }

    @Test
    void blocksThatDifferFailTheChannelWithTheReason() throws Exception {
        var other = new RamBlock("pc.ram", MemorySegment.ofArray(new byte[PAGE * 2]));
        try (Link l = link(1, List.of(other))) {
            assertThatThrownBy(() -> l.receiver().expect(1)).isInstanceOf(MigrationException.class)
                    .hasMessageContaining("RAM blocks differ");
        }
    }

    @Test
    void aDestinationThatGoesAwayFailsTheSenderWithTheChannelNamed() throws Exception {
        try (Link l = link(2, List.of(destination))) {
            l.receiver().expect(2);
            l.receiver().close();
            assertThatThrownBy(() -> {
                for (int pass = 0; pass < 100; pass++) {
                    for (int p = 0; p < PAGES; p++) {
                        fill(p, (byte) pass);
                        l.sender().page(source, (long) p * PAGE);
                    }
                    l.sender().sync();
                }
            }).isInstanceOf(MigrationException.class).hasMessageStartingWith("multifd channel ");
        }
    }
}
