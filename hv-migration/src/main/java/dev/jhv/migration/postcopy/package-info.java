/**
 * Postcopy live migration: the guest moves to the destination before all of its RAM has, runs there on a
 * userfaultfd over guest RAM, and the pages it touches first are fetched over the return path ahead of the
 * source's background push of the rest. A link lost meanwhile pauses both sides until recovery.
 */
package dev.jhv.migration.postcopy;
