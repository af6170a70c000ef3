package dev.jhv.launcher;

/** Entry point of the {@code jhv} command. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.out.println("jhv 0.1.0");
    }
}
