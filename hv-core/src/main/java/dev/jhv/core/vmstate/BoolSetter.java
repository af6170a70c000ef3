package dev.jhv.core.vmstate;

/** Stores a bool field into a state object. */
@FunctionalInterface
public interface BoolSetter<T> {
    void set(T state, boolean value);
}
