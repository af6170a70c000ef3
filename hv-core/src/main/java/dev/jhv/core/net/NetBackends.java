package dev.jhv.core.net;

/** Opens the backend a -netdev names. */
public final class NetBackends {
    private NetBackends() {
    }

    /** @throws NetBackendException with the one line for the user when the host side cannot be set up */
    public static NetBackend open(NetdevConfig config) {
        return switch (config) {
            case NetdevConfig.Tap t -> TapBackend.open(t);
            case NetdevConfig.Stream s -> StreamBackend.open(s);
            case NetdevConfig.User u -> SlirpBackend.open(u);
        };
    }
}
