package dev.jhv.core.block;

import java.nio.file.Path;

/** An image opened with -drive (or given as the disk image): what "info block" lists and devices attach to. */
public record Drive(String id, Path file, String format, boolean readOnly, BlockDevice device) { }
