package dev.jhv.launcher.cli;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * QEMU's option syntax "value,key=value,flag": the first item may omit its key (the implied key), a bare word is a
 * flag set to "on" ("noflag" means "flag=off"), and ",," stands for a literal comma.
 * Keys are taken one by one so that leftovers can be reported as unexpected.
 */
final class KeyValueList {
    private final Map<String, String> values = new LinkedHashMap<>();
    /** Every value of a key given more than once (-netdev user's hostfwd=), in order. */
    private final Map<String, java.util.List<String>> repeated = new LinkedHashMap<>();
    private final Set<String> taken = new LinkedHashSet<>();

    private KeyValueList() { }

    /** Splits {@code text}; {@code impliedKey} names a first item without '=' (null: a bare first word is a flag). */
    static KeyValueList parse(String text, String impliedKey, Set<String> flags) {
        var list = new KeyValueList();
        var items = splitItems(text);
        for (int i = 0; i < items.size(); i++) {
            String item = items.get(i);
            int eq = item.indexOf('=');
            if (eq >= 0) {
                list.values.put(item.substring(0, eq), item.substring(eq + 1));
                list.repeated.computeIfAbsent(item.substring(0, eq), k -> new java.util.ArrayList<>())
                        .add(item.substring(eq + 1));
            } else if (i == 0 && impliedKey != null) {
                list.values.put(impliedKey, item);
            } else if (item.startsWith("no") && flags.contains(item.substring(2))) {
                list.values.put(item.substring(2), "off");
            } else {
                list.values.put(item, "on");
            }
        }
        return list;
    }

    private static java.util.List<String> splitItems(String text) {
        var items = new java.util.ArrayList<String>();
        var current = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == ',') {
                if (i + 1 < text.length() && text.charAt(i + 1) == ',') {
                    current.append(',');
                    i++;
                } else {
                    items.add(current.toString());
                    current.setLength(0);
                }
            } else {
                current.append(c);
            }
        }
        items.add(current.toString());
        return items;
    }

    boolean has(String key) {
        return values.containsKey(key);
    }

    /** The value of key, or null when absent. */
    String take(String key) {
        taken.add(key);
        return values.get(key);
    }

    /** All the values of a key that may repeat, in command-line order (none: empty). */
    java.util.List<String> takeAll(String key) {
        taken.add(key);
        return java.util.List.copyOf(repeated.getOrDefault(key, java.util.List.of()));
    }

    /** "on"/"off" (and QEMU's yes/no, true/false); {@code errorKey} names the key in the error. */
    Boolean takeBoolean(String key, String errorKey) {
        String v = take(key);
        if (v == null) {
            return null;
        }
        return switch (v) {
            case "on", "yes", "true", "y" -> Boolean.TRUE;
            case "off", "no", "false", "n" -> Boolean.FALSE;
            default -> throw new IllegalArgumentException("Parameter '" + errorKey + "' expects 'on' or 'off'");
        };
    }

    /** A non-negative integer in decimal or 0x hex, or null when absent. */
    Long takeUnsigned(String key, String errorKey) {
        String v = take(key);
        if (v == null) {
            return null;
        }
        try {
            long n = v.startsWith("0x") || v.startsWith("0X") ? Long.parseLong(v.substring(2), 16) : Long.parseLong(v);
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Parameter '" + errorKey + "' expects integer");
        }
    }

    /** Throws for the first key nobody took: "Parameter 'prefix.key' is unexpected". */
    void rejectUnknown(String prefix) {
        String key = firstUnknown();
        if (key != null) {
            throw new IllegalArgumentException("Parameter '" + prefix + key + "' is unexpected");
        }
    }

    /** The first key nobody took, or null. */
    String firstUnknown() {
        for (String key : values.keySet()) {
            if (!taken.contains(key)) {
                return key;
            }
        }
        return null;
    }
}
