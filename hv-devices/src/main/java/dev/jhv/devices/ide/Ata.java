package dev.jhv.devices.ide;

/** Register bits and command codes of T13 ATA/ATAPI-7 (names as the standard spells them). */
final class Ata {
    private Ata() {
    }

    // Status register.
    static final int ERR = 0x01;
    static final int DRQ = 0x08;
    /** Device seek complete (obsolete in ATA-7, still set by drives and expected by old software). */
    static final int DSC = 0x10;
    static final int DF = 0x20;
    static final int DRDY = 0x40;
    static final int BSY = 0x80;

    // Error register.
    static final int AMNF = 0x01;
    static final int ABRT = 0x04;
    static final int IDNF = 0x10;
    static final int UNC = 0x40;

    // Device control register.
    static final int NIEN = 0x02;
    static final int SRST = 0x04;
    static final int HOB = 0x80;

    // Device/head register.
    static final int DEV = 0x10;
    static final int LBA = 0x40;
    /** Bits 7 and 5, set by convention (obsolete "always one"). */
    static final int DEVICE_ALWAYS = 0xa0;

    // Commands.
    static final int DEVICE_RESET = 0x08;
    static final int RECALIBRATE = 0x10;
    static final int READ_SECTORS = 0x20;
    static final int READ_SECTORS_NORETRY = 0x21;
    static final int READ_SECTORS_EXT = 0x24;
    static final int READ_DMA_EXT = 0x25;
    static final int READ_MULTIPLE_EXT = 0x29;
    static final int WRITE_SECTORS = 0x30;
    static final int WRITE_SECTORS_NORETRY = 0x31;
    static final int WRITE_SECTORS_EXT = 0x34;
    static final int WRITE_DMA_EXT = 0x35;
    static final int WRITE_MULTIPLE_EXT = 0x39;
    static final int READ_VERIFY = 0x40;
    static final int READ_VERIFY_NORETRY = 0x41;
    static final int READ_VERIFY_EXT = 0x42;
    static final int SEEK = 0x70;
    static final int EXECUTE_DEVICE_DIAGNOSTIC = 0x90;
    static final int INITIALIZE_DEVICE_PARAMETERS = 0x91;
    static final int PACKET = 0xa0;
    static final int IDENTIFY_PACKET_DEVICE = 0xa1;
    static final int READ_MULTIPLE = 0xc4;
    static final int WRITE_MULTIPLE = 0xc5;
    static final int SET_MULTIPLE_MODE = 0xc6;
    static final int READ_DMA = 0xc8;
    static final int READ_DMA_NORETRY = 0xc9;
    static final int WRITE_DMA = 0xca;
    static final int WRITE_DMA_NORETRY = 0xcb;
    static final int STANDBY_IMMEDIATE = 0xe0;
    static final int IDLE_IMMEDIATE = 0xe1;
    static final int STANDBY = 0xe2;
    static final int IDLE = 0xe3;
    static final int CHECK_POWER_MODE = 0xe5;
    static final int SLEEP = 0xe6;
    static final int FLUSH_CACHE = 0xe7;
    static final int FLUSH_CACHE_EXT = 0xea;
    static final int IDENTIFY_DEVICE = 0xec;
    static final int SET_FEATURES = 0xef;

    // SET FEATURES subcommands.
    static final int SF_ENABLE_WRITE_CACHE = 0x02;
    static final int SF_SET_TRANSFER_MODE = 0x03;
    static final int SF_DISABLE_WRITE_CACHE = 0x82;
    /** Subcommands accepted and ignored (read look-ahead, reverting to defaults, APM...). */
    static boolean harmlessFeature(int f) {
        return switch (f) {
            case 0x05, 0x85, 0x55, 0xaa, 0x66, 0xcc, 0x31, 0x42, 0xc2 -> true;
            default -> false;
        };
    }

    /** Writes {@code s} into IDENTIFY words [word, word+len/2) as ATA strings: space-padded, two chars a word, first char high. */
    static void putString(byte[] identify, int word, int len, String s) {
        for (int i = 0; i < len; i++) {
            char c = i < s.length() ? s.charAt(i) : ' ';
            identify[word * 2 + (i ^ 1)] = (byte) (c < 0x20 || c > 0x7e ? ' ' : c);
        }
    }

    static void putWord(byte[] identify, int word, int value) {
        identify[word * 2] = (byte) value;
        identify[word * 2 + 1] = (byte) (value >>> 8);
    }
}
