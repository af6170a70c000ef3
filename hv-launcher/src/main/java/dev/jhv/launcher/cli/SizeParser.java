package dev.jhv.launcher.cli;

import java.math.BigDecimal;

/** Sizes as QEMU reads them: a number, maybe with a fraction, and a suffix b, k, M, G, T, P, E (any case). */
final class SizeParser {
    private SizeParser() { }

    /**
     * Bytes for text; a number without suffix is in {@code defaultUnit} bytes (-m: MiB).
     * Throws IllegalArgumentException with "invalid size 'text'".
     */
    static long parse(String text, long defaultUnit) {
        String s = text.strip();
        if (s.isEmpty()) {
            throw invalid(text);
        }
        long unit = defaultUnit;
        char last = s.charAt(s.length() - 1);
        if (Character.isLetter(last)) {
            unit = switch (Character.toLowerCase(last)) {
                case 'b' -> 1L;
                case 'k' -> 1L << 10;
                case 'm' -> 1L << 20;
                case 'g' -> 1L << 30;
                case 't' -> 1L << 40;
                case 'p' -> 1L << 50;
                case 'e' -> 1L << 60;
                default -> throw invalid(text);
            };
            s = s.substring(0, s.length() - 1);
        }
        if (s.isEmpty() || s.startsWith(".") || !digitsAndPoints(s)) {
            throw invalid(text);
        }
        if (s.indexOf('.') < 0 && s.length() <= 18) {
            // the common case in plain long arithmetic: BigDecimal's first use costs milliseconds at start-up
            long whole = Long.parseLong(s);
            if (whole > Long.MAX_VALUE / unit) {
                throw tooLarge(text);
            }
            return whole * unit;
        }
        try {
            var bytes = new BigDecimal(s).multiply(BigDecimal.valueOf(unit));
            if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
                throw tooLarge(text);
            }
            return bytes.setScale(0, java.math.RoundingMode.CEILING).longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw invalid(text);
        }
    }

    private static boolean digitsAndPoints(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c < '0' || c > '9') && c != '.') {
                return false;
            }
        }
        return true;
    }

    private static IllegalArgumentException tooLarge(String text) {
        return new IllegalArgumentException("size '" + text + "' is too large");
    }

    private static IllegalArgumentException invalid(String text) {
        return new IllegalArgumentException("invalid size '" + text + "'");
    }
}
