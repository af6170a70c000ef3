package dev.jhv.migration.control;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * QEMU 7.2's migration parameters, with its names, units and defaults, as an immutable set of values: every one is
 * accepted and shown, also where its feature comes in a later version of jhv. {@link #with} gives the set with one
 * value changed, parsed as QEMU's HMP parses it.
 */
public final class MigrationParameters {
    /** How a value is typed and shown ("info migrate_parameters"). */
    public enum Kind { MILLISECONDS, COUNT, PERCENT, BOOL, BYTES, BYTES_PER_SECOND, MIB_PER_SECOND, TEXT, COMPRESSION }

    /** One parameter: its QEMU name, kind, default and bounds. */
    public record Parameter(String name, Kind kind, Object defaultValue, long min, long max) { }

    /** In QEMU 7.2's order; jhv's own after them. */
    public static final List<Parameter> ALL = List.of(
            new Parameter("announce-initial", Kind.MILLISECONDS, 50L, 1, 100_000),
            new Parameter("announce-max", Kind.MILLISECONDS, 550L, 1, 100_000),
            new Parameter("announce-rounds", Kind.COUNT, 5L, 1, 1000),
            new Parameter("announce-step", Kind.MILLISECONDS, 100L, 1, 10_000),
            new Parameter("compress-level", Kind.COUNT, 1L, 0, 9),
            new Parameter("compress-threads", Kind.COUNT, 8L, 1, 255),
            new Parameter("compress-wait-thread", Kind.BOOL, true, 0, 1),
            new Parameter("decompress-threads", Kind.COUNT, 2L, 1, 255),
            new Parameter("throttle-trigger-threshold", Kind.PERCENT, 50L, 1, 100),
            new Parameter("cpu-throttle-initial", Kind.PERCENT, 20L, 1, 99),
            new Parameter("cpu-throttle-increment", Kind.PERCENT, 10L, 1, 99),
            new Parameter("cpu-throttle-tailslow", Kind.BOOL, false, 0, 1),
            new Parameter("max-cpu-throttle", Kind.PERCENT, 99L, 1, 99),
            new Parameter("tls-creds", Kind.TEXT, "", 0, 0),
            new Parameter("tls-hostname", Kind.TEXT, "", 0, 0),
            new Parameter("max-bandwidth", Kind.MIB_PER_SECOND, 128L << 20, 0, Long.MAX_VALUE),
            new Parameter("downtime-limit", Kind.MILLISECONDS, 300L, 0, 2_000_000),
            new Parameter("x-checkpoint-delay", Kind.MILLISECONDS, 20_000L, 0, Integer.MAX_VALUE),
            new Parameter("block-incremental", Kind.BOOL, false, 0, 1),
            new Parameter("multifd-channels", Kind.COUNT, 2L, 1, 255),
            new Parameter("multifd-compression", Kind.COMPRESSION, "none", 0, 0),
            new Parameter("xbzrle-cache-size", Kind.BYTES, 64L << 20, 4096, Long.MAX_VALUE),
            new Parameter("max-postcopy-bandwidth", Kind.BYTES_PER_SECOND, 0L, 0, Long.MAX_VALUE),
            new Parameter("tls-authz", Kind.TEXT, "", 0, 0),
            // jhv: a link that makes no progress for this long fails the migration (TCP alone waits minutes)
            new Parameter("x-stall-timeout", Kind.MILLISECONDS, 10_000L, 100, 3_600_000),
            // jhv: auto-converge throttles only the vCPUs that dirty (off: QEMU's one throttle for all)
            new Parameter("x-per-vcpu-throttle", Kind.BOOL, true, 0, 1),
            // jhv: with postcopy-ram on, switch to postcopy by itself when a precopy cannot converge
            new Parameter("x-postcopy-auto", Kind.BOOL, false, 0, 1));

    public static final MigrationParameters DEFAULTS = defaults();

    private final Map<String, Object> values;

    private MigrationParameters(Map<String, Object> values) {
        this.values = Map.copyOf(values);
    }

    private static MigrationParameters defaults() {
        Map<String, Object> m = new LinkedHashMap<>();
        for (Parameter p : ALL) {
            m.put(p.name(), p.defaultValue());
        }
        return new MigrationParameters(m);
    }

    public static Parameter find(String name) {
        for (Parameter p : ALL) {
            if (p.name().equals(name)) {
                return p;
            }
        }
        return null;
    }

    public Object get(String name) {
        return values.get(name);
    }

    public long number(String name) {
        return (Long) values.get(name);
    }

    /** Bytes per second on the wire; 0 means no limit. */
    public long maxBandwidth() {
        return number("max-bandwidth");
    }

    public long downtimeLimitMs() {
        return number("downtime-limit");
    }

    public long stallTimeoutMs() {
        return number("x-stall-timeout");
    }

    /** QEMU's max-postcopy-bandwidth: 0 for as fast as the link allows. */
    public long maxPostcopyBandwidth() {
        return number("max-postcopy-bandwidth");
    }

    /** jhv's x-postcopy-auto: switch to postcopy when precopy cannot converge. */
    public boolean postcopyAuto() {
        return (Boolean) get("x-postcopy-auto");
    }

    /** The XBZRLE cache's size in bytes (a power of two, at least a page). */
    public long xbzrleCacheSize() {
        return number("xbzrle-cache-size");
    }

    /** The tls-creds object's id; empty: no TLS. */
    public String tlsCreds() {
        return (String) values.get("tls-creds");
    }

    /** The host name the destination's certificate must name; empty: the URI's host. */
    public String tlsHostname() {
        return (String) values.get("tls-hostname");
    }

    /** How many multifd channels carry RAM (with the multifd capability). */
    public int multifdChannels() {
        return (int) number("multifd-channels");
    }

    /**
     * The set with {@code name} set from HMP text: sizes take QEMU's suffixes (max-bandwidth's bare number is MiB,
     * as QEMU's HMP reads it; xbzrle-cache-size's is bytes), booleans on/off.
     *
     * @throws IllegalArgumentException in QEMU's words for an unknown name or a bad value
     */
    public MigrationParameters with(String name, String text) {
        Parameter p = find(name);
        if (p == null) {
            throw new IllegalArgumentException("Invalid parameter '" + name + "'"); // hmp: unknown parameter
        }
        Object v = switch (p.kind()) {
            case BOOL -> switch (text) {
                case "on", "yes", "true" -> true;
                case "off", "no", "false" -> false;
                default -> throw new IllegalArgumentException("Parameter '" + name + "' expects 'on' or 'off'");
            };
            case TEXT -> text;
            case COMPRESSION -> {
                if (!List.of("none", "zlib", "zstd").contains(text)) {
                    throw new IllegalArgumentException("Parameter 'multifd-compression' does not accept value '"
                            + text + "'");
                }
                yield text;
            }
            case MIB_PER_SECOND -> size(name, text, 1L << 20);
            case BYTES, BYTES_PER_SECOND -> size(name, text, 1);
            default -> integer(name, text);
        };
        if (name.equals("xbzrle-cache-size") && ((Long) v < p.min() || Long.bitCount((Long) v) != 1)) {
            // QEMU's words (with its underscore spelling)
            throw new IllegalArgumentException("Parameter 'xbzrle_cache_size' expects a power of two no less than "
                    + "the target page size");
        }
        if (v instanceof Long l && (l < p.min() || l > p.max())) {
            throw new IllegalArgumentException("Parameter '" + name + "' expects a value between " + p.min()
                    + " and " + p.max());
        }
        Map<String, Object> m = new LinkedHashMap<>(values);
        m.put(name, v);
        return new MigrationParameters(m);
    }

    /** The set with {@code name} set to an already typed value (QMP, the legacy commands). */
    public MigrationParameters withValue(String name, Object value) {
        Parameter p = find(name);
        if (p == null) {
            throw new IllegalArgumentException("Invalid parameter '" + name + "'");
        }
        Map<String, Object> m = new LinkedHashMap<>(values);
        m.put(name, value);
        return new MigrationParameters(m);
    }

    private static long integer(String name, String text) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Parameter '" + name + "' expects an integer");
        }
    }

    /** QEMU's size syntax: a number with an optional B/K/M/G/T/P/E suffix; {@code unit} is the suffix-less unit. */
    static long size(String name, String text, long unit) {
        String t = text.strip();
        if (t.isEmpty()) {
            throw new IllegalArgumentException("Parameter '" + name + "' expects a size");
        }
        char last = Character.toUpperCase(t.charAt(t.length() - 1));
        long mult = unit;
        int shift = "BKMGTPE".indexOf(last);
        if (shift >= 0) {
            mult = 1L << (10 * shift);
            t = t.substring(0, t.length() - 1);
        }
        try {
            double d = Double.parseDouble(t);
            if (d < 0 || Double.isNaN(d) || d * mult > Long.MAX_VALUE) {
                throw new NumberFormatException();
            }
            return (long) (d * mult);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Parameter '" + name + "' expects a size");
        }
    }

    /** "info migrate_parameters" as QEMU 7.2 prints it. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        for (Parameter p : ALL) {
            Object v = values.get(p.name());
            String shown = switch (p.kind()) {
                case MILLISECONDS -> v + " ms";
                case BOOL -> (Boolean) v ? "on" : "off";
                case TEXT -> "'" + v + "'";
                case MIB_PER_SECOND -> v + " bytes/second";
                case BYTES -> v + " bytes";
                default -> String.valueOf(v);
            };
            sb.append(p.name()).append(": ").append(shown).append('\n');
        }
        return sb.toString();
    }
}
