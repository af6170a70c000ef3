package dev.jhv.core.vmstate;

/** Runs after a description's values are in the device; may reject the state. */
@FunctionalInterface
public interface PostLoad<T> {
    /**
     * @param state         the device, holding the loaded values
     * @param streamVersion the version the stream was written at
     * @return null to accept, or the reason the state cannot be used (the load fails and the device is restored)
     */
    String check(T state, int streamVersion);
}
