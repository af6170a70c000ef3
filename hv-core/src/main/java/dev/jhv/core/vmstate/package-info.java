/**
 * Device state as data. A device declares its state once as a {@link dev.jhv.core.vmstate.VMStateDescription}
 * (fields, subsections with {@code needed} tests, pre-save and post-load hooks); saving, loading and the JSON
 * description all come from it. Loading decodes into {@link dev.jhv.core.vmstate.VMStateValues} first and applies
 * them only when the whole state has been read, restoring the old state if a setter or post-load hook refuses.
 * {@link dev.jhv.core.vmstate.VMStateRoundTrip} is the generated check each description must pass in its tests.
 */
package dev.jhv.core.vmstate;
