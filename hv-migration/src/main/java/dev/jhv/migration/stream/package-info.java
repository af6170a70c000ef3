/**
 * The migration stream container (see {@link dev.jhv.migration.stream.StreamFormat}): a
 * {@link dev.jhv.migration.stream.SaveStateRegistry} of device and iterative (RAM) entries is written by
 * {@link dev.jhv.migration.stream.MigrationStreamWriter} and loaded by
 * {@link dev.jhv.migration.stream.MigrationStreamReader} after the
 * {@link dev.jhv.migration.stream.MachineConfiguration} matched; {@link dev.jhv.migration.stream.Analyzer} dumps a
 * stream from its own JSON description.
 */
package dev.jhv.migration.stream;
