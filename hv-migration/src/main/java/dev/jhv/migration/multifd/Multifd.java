package dev.jhv.migration.multifd;

import dev.jhv.migration.channel.MigrationUri;
import dev.jhv.migration.stream.MigrationException;
import dev.jhv.migration.stream.RamStateEntry;

import java.io.IOException;

/** Where a migration sets up its multifd channels, on either side. */
public final class Multifd {
    private Multifd() { }

    /**
     * The source's channels: {@code channels} connections to {@code uri}, opened with {@code open}, after the main
     * one. Only sockets can have more than one connection.
     */
    public static MultifdSender open(MigrationUri uri, int channels, MultifdSender.Opener open, RamStateEntry ram,
                                     long bytesPerSecond) throws IOException {
        if (!(uri instanceof MigrationUri.Tcp) && !(uri instanceof MigrationUri.Unix)) {
            throw new MigrationException("multifd is not supported by current protocol (only tcp: and unix:)");
        }
        return MultifdSender.open(channels, open, ram.blocks(), ram.saveStats(), bytesPerSecond);
    }
}
