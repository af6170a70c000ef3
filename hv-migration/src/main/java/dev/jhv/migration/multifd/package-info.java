/**
 * multifd: RAM pages over extra connections to the migration URI, each with its own sender thread on the source
 * and receiver thread on the destination, while the main channel carries the sections and the sync points
 * ({@link dev.jhv.migration.stream.MultifdPages}).
 */
package dev.jhv.migration.multifd;
