package dev.jhv.migration.machine;

import dev.jhv.core.machine.Machine;
import dev.jhv.core.machine.StateSection;
import dev.jhv.core.memory.GuestMemory;
import dev.jhv.migration.stream.MachineConfiguration;
import dev.jhv.migration.stream.MigrationStreamReader;
import dev.jhv.migration.stream.MigrationStreamWriter;
import dev.jhv.migration.stream.RamBlock;
import dev.jhv.migration.stream.RamStateEntry;
import dev.jhv.migration.stream.SaveStateRegistry;

import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * A whole machine as a migration stream: its RAM blocks and every registered state section, with the
 * configuration the destination must match. Save and load need the vCPUs parked.
 */
public final class MachineState {
    public static final String MACHINE_TYPE = "pc";

    private MachineState() { }

    /** RAM block names: QEMU's PC calls its RAM "pc.ram"; ours is split around the PCI hole. */
    static String blockName(GuestMemory.Region r) {
        return r.gpa() == 0 ? "pc.ram" : String.format("pc.ram@0x%x", r.gpa());
    }

    public static List<RamBlock> ramBlocks(Machine m) {
        List<RamBlock> blocks = new ArrayList<>();
        for (GuestMemory.Region r : m.memory().regions()) {
            blocks.add(new RamBlock(blockName(r), r.segment()));
        }
        return blocks;
    }

    /** The registry a stream of this machine is written from or loaded into. */
    public static SaveStateRegistry registry(Machine m) {
        return registry(m, new RamStateEntry(ramBlocks(m)));
    }

    private static SaveStateRegistry registry(Machine m, RamStateEntry ram) {
        SaveStateRegistry reg = new SaveStateRegistry();
        reg.register(ram);
        for (StateSection<?> s : m.stateSections()) {
            register(reg, s);
        }
        return reg;
    }

    private static <T> void register(SaveStateRegistry reg, StateSection<T> s) {
        reg.registerDevice(s.idstr(), s.instanceId(), s.description(), s.state());
    }

    /** What a destination must match: machine type, memory layout, vCPUs, CPU model and CPUID, devices. */
    public static MachineConfiguration configuration(Machine m, SaveStateRegistry reg) {
        List<MachineConfiguration.MemoryRegion> layout = new ArrayList<>();
        for (GuestMemory.Region r : m.memory().regions()) {
            layout.add(new MachineConfiguration.MemoryRegion(blockName(r), r.gpa(), r.size()));
        }
        String model = m.config().cpuModel() == null ? "qemu64" : m.config().cpuModel();
        return new MachineConfiguration(MACHINE_TYPE, m.memory().totalSize(), layout, m.vcpus().size(), model,
                m.cpuidDigest(), List.of()).withDevices(reg);
    }

    /**
     * Runs the device-state half of a save and of a load once, into memory and back, changing nothing: the code a
     * migration's downtime runs (encoding, field checksums, the description, decoding, schema checks) is then
     * loaded, linked and initialised before the guest stops, not during its downtime. The vCPUs' sections are
     * left out unless they are parked ({@code cpusParked}): their state cannot be read while they run.
     */
    public static void warmUp(Machine m, boolean cpusParked) {
        SaveStateRegistry reg = new SaveStateRegistry();
        reg.register(new RamStateEntry(List.of()));
        for (StateSection<?> s : m.stateSections()) {
            if (cpusParked || !s.idstr().equals("cpu")) {
                register(reg, s);
            }
        }
        var bytes = new java.io.ByteArrayOutputStream();
        new MigrationStreamWriter(bytes, reg).saveAll(configuration(m, reg));
        new MigrationStreamReader(new java.io.ByteArrayInputStream(bytes.toByteArray()), reg, null).check();
    }

    /** Writes the whole machine (static save: the vCPUs must be parked). Returns the bytes written. */
    public static long save(Machine m, OutputStream out) {
        SaveStateRegistry reg = registry(m);
        MigrationStreamWriter w = new MigrationStreamWriter(out, reg);
        w.saveAll(configuration(m, reg));
        return w.bytesWritten();
    }

    /**
     * Loads a whole machine from a stream; a configuration mismatch is refused before anything loads.
     *
     * @throws dev.jhv.migration.stream.MigrationException naming the section, field and offset of a problem
     */
    /**
     * Reads a whole stream as {@link #load} would and checks it against this machine (configuration, RAM blocks and
     * page checksums, every device section and its description) without changing the machine.
     *
     * @throws dev.jhv.migration.stream.MigrationException naming the first problem, as {@link #load} would
     */
    public static MigrationStreamReader.Result check(Machine m, InputStream in) {
        SaveStateRegistry reg = registry(m, RamStateEntry.checking(ramBlocks(m)));
        return new MigrationStreamReader(in, reg, configuration(m, reg)).check();
    }

    public static MigrationStreamReader.Result load(Machine m, InputStream in) {
        SaveStateRegistry reg = registry(m);
        return new MigrationStreamReader(in, reg, configuration(m, reg)).load();
    }

    /** {@link #load}, with the RAM pages coming over multifd channels where the stream says so. */
    public static MigrationStreamReader.Result load(Machine m, InputStream in,
                                                    dev.jhv.migration.stream.MultifdPages.Source multifd) {
        return reader(m, in, multifd).load();
    }

    /** A reader of a stream into this machine, for a load that needs its hooks (postcopy); see {@link #load}. */
    public static MigrationStreamReader reader(Machine m, InputStream in) {
        return reader(m, in, null);
    }

    /** {@link #reader}, with the RAM pages coming over multifd channels where the stream says so (null: none). */
    public static MigrationStreamReader reader(Machine m, InputStream in,
                                               dev.jhv.migration.stream.MultifdPages.Source multifd) {
        SaveStateRegistry reg = registry(m);
        if (multifd != null) {
            for (var e : reg.entries()) {
                if (e instanceof RamStateEntry ram) {
                    ram.receivePagesFrom(multifd);
                }
            }
        }
        return new MigrationStreamReader(in, reg, configuration(m, reg));
    }
}
