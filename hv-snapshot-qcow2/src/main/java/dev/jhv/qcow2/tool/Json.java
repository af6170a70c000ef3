package dev.jhv.qcow2.tool;

import java.util.List;
import java.util.Map;

/** Writes maps, lists, strings, numbers and booleans as JSON indented like qemu-img (4 spaces). */
final class Json {
    private Json() {}

    static String write(Object v, int indent) {
        var sb = new StringBuilder();
        write(sb, v, indent);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, int ind) {
        String pad = " ".repeat(ind + 4);
        switch (v) {
            case Map<?, ?> m -> {
                sb.append("{\n");
                int i = 0;
                for (var e : m.entrySet()) {
                    sb.append(pad);
                    str(sb, e.getKey().toString());
                    sb.append(": ");
                    write(sb, e.getValue(), ind + 4);
                    if (++i < m.size()) sb.append(',');
                    sb.append('\n');
                }
                sb.append(" ".repeat(ind)).append('}');
            }
            case List<?> l -> {
                sb.append("[\n");
                for (int i = 0; i < l.size(); i++) {
                    sb.append(pad);
                    write(sb, l.get(i), ind + 4);
                    if (i + 1 < l.size()) sb.append(',');
                    sb.append('\n');
                }
                sb.append(" ".repeat(ind)).append(']');
            }
            case String s -> str(sb, s);
            case null -> sb.append("null");
            default -> sb.append(v);
        }
    }

    private static void str(StringBuilder sb, String s) {
        sb.append('"');
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }
}
