package dev.jhv.core.sys;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LibcTest {
    @Test
    void aFailedCallNamesTheCallAndErrno() {
        assertThatThrownBy(() -> Libc.open("/nonexistent/jhv-test", Libc.O_RDONLY))
                .isInstanceOf(SysCallException.class)
                .hasMessageContaining("open /nonexistent/jhv-test").hasMessageContaining("ENOENT");
        assertThatThrownBy(() -> Libc.close(-1)).isInstanceOf(SysCallException.class)
                .hasMessageContaining("close").hasMessageContaining("EBADF");
        assertThat(Libc.tryIoctl(-1, 0xAE00, 0)).isEqualTo(-9); // EBADF comes back as -errno
    }

    @Test
    void eventfdReadAndWriteMoveTheCounter() {
        int fd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(8);
            assertThat(Libc.tryRead(fd, v, 8)).isEqualTo(-11); // EAGAIN: nothing written yet
            v.set(ValueLayout.JAVA_LONG, 0, 5);
            assertThat(Libc.tryWrite(fd, v, 8)).isEqualTo(8);
            v.set(ValueLayout.JAVA_LONG, 0, 0);
            assertThat(Libc.tryRead(fd, v, 8)).isEqualTo(8);
            assertThat(v.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(5);
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void mmapGivesZeroedMemoryOfTheAskedSizeAndBadArgumentsAreRefused() {
        MemorySegment m = Libc.mmap(1 << 20, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        assertThat(m.byteSize()).isEqualTo(1 << 20);
        assertThat(m.get(ValueLayout.JAVA_LONG, 4096)).isZero();
        Libc.munmap(m);
        assertThatThrownBy(() -> Libc.mmap(0, Libc.PROT_READ, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0))
                .isInstanceOf(SysCallException.class).hasMessageContaining("mmap").hasMessageContaining("EINVAL");
        // heap memory has no address the kernel could use
        assertThatThrownBy(() -> Libc.tryWrite(1, MemorySegment.ofArray(new byte[4]), 4))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void threadIdsAreThoseOfTheCallingThread() throws Exception {
        int mine = Libc.gettid();
        int[] other = new int[1];
        Thread t = Thread.ofPlatform().start(() -> other[0] = Libc.gettid());
        t.join();
        assertThat(mine).isPositive();
        assertThat(other[0]).isPositive().isNotEqualTo(mine);
    }

    @Test
    void pipesCanBeEnlarged() {
        int[] fds = Libc.pipe2(Libc.O_CLOEXEC);
        try {
            assertThat(Libc.tryFcntl(fds[0], Libc.F_GETPIPE_SZ, 0)).isEqualTo(65536);
            assertThat(Libc.tryFcntl(fds[0], Libc.F_SETPIPE_SZ, 1 << 20)).isGreaterThanOrEqualTo(1 << 20);
            assertThat(Libc.tryFcntl(fds[1], Libc.F_GETPIPE_SZ, 0)).as("one pipe, both ends").isEqualTo(1 << 20);
            assertThat(Libc.tryFcntl(-1, Libc.F_GETPIPE_SZ, 0)).isEqualTo(-9);   // EBADF
        } finally {
            Libc.close(fds[0]);
            Libc.close(fds[1]);
        }
    }

    @Test
    void structFlockHasTheKernelsLayout() {
        // offsetof/sizeof from a C program on x86-64 glibc: 0, 2, 8, 16, 24; 32
        assertThat(Libc.FLOCK.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("l_type"))).isZero();
        assertThat(Libc.FLOCK.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("l_whence"))).isEqualTo(2);
        assertThat(Libc.FLOCK.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("l_start"))).isEqualTo(8);
        assertThat(Libc.FLOCK.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("l_len"))).isEqualTo(16);
        assertThat(Libc.FLOCK.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("l_pid"))).isEqualTo(24);
        assertThat(Libc.FLOCK.byteSize()).isEqualTo(32);
    }

    @Test
    void ofdLocksOfOneOpenFileDoNotConflictWithItselfButWithAnother() throws Exception {
        var f = java.nio.file.Files.createTempFile("jhv-lock", ".img");
        int a = Libc.open(f.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC);
        int b = Libc.open(f.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC);
        try {
            assertThat(Libc.tryOfdSetLock(a, Libc.F_RDLCK, 100, 1)).isZero();
            assertThat(Libc.tryOfdGetLock(a, Libc.F_WRLCK, 100, 1)).as("its own lock").isEqualTo(Libc.F_UNLCK);
            assertThat(Libc.tryOfdGetLock(b, Libc.F_WRLCK, 100, 1)).isEqualTo(Libc.F_RDLCK);
            assertThat(Libc.tryOfdGetLock(b, Libc.F_WRLCK, 101, 1)).isEqualTo(Libc.F_UNLCK);
            assertThat(Libc.tryOfdSetLock(a, Libc.F_UNLCK, 100, 1)).isZero();
            assertThat(Libc.tryOfdGetLock(b, Libc.F_WRLCK, 100, 1)).isEqualTo(Libc.F_UNLCK);
            assertThat(Libc.tryOfdSetLock(-1, Libc.F_RDLCK, 100, 1)).isEqualTo(-9);   // EBADF
        } finally {
            Libc.close(a);
            Libc.close(b);
            java.nio.file.Files.delete(f);
        }
    }
}
