package dev.jhv.core.block;

import dev.jhv.core.block.ImageLock.Access;
import dev.jhv.core.block.ImageLock.Permission;
import dev.jhv.core.sys.Libc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Two locks in one JVM sit on different open file descriptions, so they meet as two processes would. */
class ImageLockTest {
    @TempDir
    Path dir;

    private Path image() throws IOException {
        Path p = dir.resolve("disk.img");
        Files.write(p, new byte[4096]);
        return p;
    }

    /** The bytes 100..104 and 200..204 someone holds, seen from a descriptor of our own. */
    private static List<Integer> lockedBytes(Path p) {
        int fd = Libc.open(p.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC);
        try {
            var out = new ArrayList<Integer>();
            for (int b : new int[] {100, 101, 102, 103, 104, 200, 201, 202, 203, 204}) {
                if (Libc.tryOfdGetLock(fd, Libc.F_WRLCK, b, 1) == Libc.F_RDLCK) out.add(b);
            }
            return out;
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void aWritableQcow2FileLocksTheBytesQemuLocks() throws IOException {
        Path p = image();
        try (var l = ImageLock.acquire(p, Access.device(true).qcow2File())) {
            assertThat(l.held()).isTrue();
            // as a running qemu-system on a writable qcow2 disk: consistent read, write, resize; unshares write, resize
            assertThat(lockedBytes(p)).containsExactly(100, 101, 103, 201, 203);
        }
        assertThat(lockedBytes(p)).as("closing drops the locks").isEmpty();
        try (var l = ImageLock.acquire(p, Access.device(false).qcow2File())) {
            assertThat(lockedBytes(p)).containsExactly(100, 201, 203);
        }
        try (var l = ImageLock.acquire(p, Access.device(true))) {
            assertThat(lockedBytes(p)).as("a raw disk").containsExactly(100, 101, 201);
        }
        try (var l = ImageLock.acquire(p, Access.inspector().qcow2File())) {
            assertThat(lockedBytes(p)).as("qemu-img info").containsExactly(201, 203);
        }
    }

    @Test
    void aSecondWriterIsRefusedWithQemusWords() throws IOException {
        Path p = image();
        try (var first = ImageLock.acquire(p, Access.device(true).qcow2File())) {
            assertThatThrownBy(() -> ImageLock.acquire(p, Access.writer().qcow2File()))
                    .isInstanceOf(ImageLock.ConflictException.class)
                    .hasMessage("Failed to get \"write\" lock\nIs another process using the image [" + p + "]?");
            // the refused opener left nothing behind: the first one's bytes only
            assertThat(lockedBytes(p)).containsExactly(100, 101, 103, 201, 203);
        }
        ImageLock.acquire(p, Access.writer().qcow2File()).close();
    }

    @Test
    void readersAreRefusedWhileSomeoneWritesUnlessTheyShare() throws IOException {
        Path p = image();
        try (var writer = ImageLock.acquire(p, Access.device(true).qcow2File())) {
            assertThatThrownBy(() -> ImageLock.acquire(p, Access.device(false).qcow2File()))
                    .hasMessageStartingWith("Failed to get shared \"write\" lock");
            assertThatThrownBy(() -> ImageLock.acquire(p, Access.inspector().qcow2File()))
                    .hasMessageStartingWith("Failed to get shared \"write\" lock");
            assertThatThrownBy(() -> ImageLock.acquire(p, Access.backingFile()))
                    .hasMessageStartingWith("Failed to get shared \"write\" lock");
            // -U
            ImageLock.acquire(p, Access.reader().forceShared().qcow2File()).close();
            ImageLock.acquire(p, Access.inspector().forceShared().qcow2File()).close();
            // a raw reader that shares everything, as qemu-img check and map on raw
            ImageLock.acquire(p, Access.reader()).close();
        }
    }

    @Test
    void aWriterIsRefusedWhileSomeoneReadsWithoutSharingWrite() throws IOException {
        Path p = image();
        try (var reader = ImageLock.acquire(p, Access.device(false).qcow2File());
             var other = ImageLock.acquire(p, Access.backingFile())) {
            assertThatThrownBy(() -> ImageLock.acquire(p, Access.device(true).qcow2File()))
                    .hasMessageStartingWith("Failed to get \"write\" lock");
            assertThatThrownBy(() -> ImageLock.acquire(p, Access.writer()))
                    .hasMessageStartingWith("Failed to get \"write\" lock");
        }
        // readers that share everything do not stop a writer
        try (var shared = ImageLock.acquire(p, Access.reader().forceShared().qcow2File());
             var writer = ImageLock.acquire(p, Access.device(true).qcow2File())) {
            assertThat(writer.held()).isTrue();
        }
    }

    @Test
    void resizeConflictsAreNamed() throws IOException {
        Path p = image();
        // a raw resize shares everything but holds resize; a qcow2 reader refuses resize
        try (var reader = ImageLock.acquire(p, Access.reader().qcow2File())) {
            assertThatThrownBy(() -> ImageLock.acquire(p, Access.writer()))
                    .hasMessageStartingWith("Failed to get \"write\" lock");
        }
        try (var resizer = ImageLock.acquire(p, new Access(java.util.Set.of(Permission.RESIZE), java.util.Set.of(),
                false, null))) {
            assertThatThrownBy(() -> ImageLock.acquire(p, Access.inspector().qcow2File()))
                    .hasMessageStartingWith("Failed to get shared \"resize\" lock");
        }
    }

    @Test
    void forceShareIsForReadOnlyOpensAndAnEmptyAccessLocksNothing() throws IOException {
        assertThatThrownBy(() -> Access.writer().forceShared())
                .hasMessage("force-share=on can only be used with read-only images");
        Path p = image();
        try (var l = ImageLock.acquire(p, Access.none())) {
            assertThat(l.held()).isFalse();
            assertThat(lockedBytes(p)).isEmpty();
        }
        assertThat(Access.inspector().backing()).isEqualTo(Access.none());
        assertThat(Access.reader().forceShared().backing().unshared()).isEmpty();
        assertThat(Access.device(true).backing()).isEqualTo(Access.backingFile());
        assertThat(Access.writer().withChain(Access.reader().sharingAll()).backing().unshared()).isEmpty();
    }
}
