package dev.jhv.launcher.chardev;

/** "null": output vanishes, no input arrives. */
final class NullChardev extends Chardev {
    NullChardev() {
        super(true);
    }

    @Override
    public void write(byte[] data, int offset, int length) { }

    @Override
    public String describe() {
        return "null";
    }
}
