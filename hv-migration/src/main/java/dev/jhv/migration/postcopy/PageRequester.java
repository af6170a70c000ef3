package dev.jhv.migration.postcopy;

import java.io.IOException;

/** How the destination asks its source for pages: the return path's page request. */
@FunctionalInterface
public interface PageRequester {
    /** Asks for [offset, offset + length) of RAM block {@code block} (in the stream's block order). */
    void request(int block, long offset, long length) throws IOException;
}
