package dev.jhv.core.sys;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EventFdTest {
    @Test
    void signalsAddUpUntilARead() {
        try (EventFd e = EventFd.create(true)) {
            assertThat(e.read()).isZero(); // nothing pending: a non-blocking read does not wait
            e.signal();
            e.add(4);
            assertThat(e.read()).isEqualTo(5);
            assertThat(e.read()).isZero();
        }
    }

    @Test
    void aBlockingReadWaitsForASignalFromAnotherThread() throws Exception {
        try (EventFd e = EventFd.create(false)) {
            Thread writer = Thread.ofPlatform().start(() -> e.add(7));
            assertThat(e.read()).isEqualTo(7);
            writer.join();
        }
    }

    @Test
    void closeIsOnceAndAClosedFdIsRefusedByName() {
        EventFd e = EventFd.create(true);
        int fd = e.fd();
        e.close();
        e.close(); // a second close must not close whatever took the fd number since
        assertThat(Libc.tryWrite(fd, java.lang.foreign.Arena.ofAuto().allocate(8), 8)).isEqualTo(-Errno.EBADF);
        assertThatThrownBy(e::signal).isInstanceOf(SysCallException.class)
                .hasMessageContaining("eventfd write").hasMessageContaining("EBADF");
    }
}
