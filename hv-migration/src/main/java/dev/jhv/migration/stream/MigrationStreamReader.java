package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.Json;
import dev.jhv.core.vmstate.VMStateException;
import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.core.vmstate.VMStateSchema;
import dev.jhv.core.vmstate.VMStateValues;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Loads a stream into the machine's registry. The configuration is compared with the destination's before
 * anything loads; device sections are decoded and held until the whole stream (and its JSON description) has been
 * read and checked, then applied all together: if one device refuses its state, every device gets its old state
 * back. RAM (iterative) sections are written into guest memory as they arrive.
 */
public final class MigrationStreamReader {
    private final VMStateInput in;
    private final SaveStateRegistry registry;
    private final MachineConfiguration destination;

    /** What a successful load read. */
    public record Result(MachineConfiguration source, long bytes, int deviceSections, int iterativeSections) { }

    private record Staged(DeviceStateEntry<?> entry, int sectionId, int version, VMStateValues values, long offset) {
    }

    private record Started(SaveStateEntry entry, int version) { }

    /**
     * @param destination this machine's configuration; null skips the comparison (tools, tests)
     */
    public MigrationStreamReader(InputStream is, SaveStateRegistry registry, MachineConfiguration destination) {
        this.in = new VMStateInput(is);
        this.registry = registry;
        this.destination = destination;
    }

    /** Takes postcopy's listen command (null: this destination refuses postcopy). */
    private java.util.function.Consumer<VMStateInput> postcopyListen;
    private boolean postcopyListening;

    /** Lets a stream switch to postcopy: {@code listen} reads the listen command's body. */
    public void onPostcopyListen(java.util.function.Consumer<VMStateInput> listen) {
        postcopyListen = listen;
    }

    /** Whether the stream switched to postcopy: RAM pages follow the trailer, read through {@link #input}. */
    public boolean postcopyListening() {
        return postcopyListening;
    }

    /** The stream as this reader has buffered it (postcopy reads on after the trailer). */
    public VMStateInput input() {
        return in;
    }

    /** The first device section whose checksum failed, while the rest of the stream is read (or null). */
    private Damage damage;
    /** Per device section id, the field checksums the stream's description recorded. */
    private Map<Integer, List<FieldChecksums.Part>> recordedFields = Map.of();

    private MigrationException error(long at, String reason) {
        return new MigrationException("migration stream at offset " + at + ": " + reason);
    }

    /**
     * Reads the whole stream.
     *
     * @throws MigrationException naming the offset, section and field of the first problem
     */
    public Result load() {
        return read(true);
    }

    /**
     * Reads and checks the whole stream as {@link #load} does but applies no device state (RAM is written only by
     * entries that write: give a registry of {@link RamStateEntry#checking} to leave the machine untouched).
     */
    public Result check() {
        return read(false);
    }

    private Result read(boolean apply) {
        try {
            return doLoad(apply);
        } catch (MigrationException e) {
            // what went wrong after a damaged device section is most likely more of the same damage
            if (damage != null && e != damage.error() && e.getCause() != damage.error()) {
                throw damage.error();
            }
            throw e;
        } catch (VMStateException e) {
            if (damage != null) {
                throw damage.error();
            }
            if (e.section() == null) {
                // a stream-level read: name the part of the container, not a device field
                throw new MigrationException("migration stream at offset " + e.offset() + ": " + e.reason()
                        + " (in the " + e.fieldPath() + ")", e);
            }
            throw new MigrationException(e.getMessage(), e);
        }
    }

    private Result doLoad(boolean apply) {
        long magic = in.u32("header");
        if (magic != StreamFormat.MAGIC) {
            throw error(0, String.format("not a jhv migration stream (magic 0x%08x, expected 0x%08x \"JHVM\")",
                    magic, StreamFormat.MAGIC));
        }
        long version = in.u32("header");
        if (version != StreamFormat.VERSION) {
            throw error(4, "stream format version " + version + ", this build reads " + StreamFormat.VERSION);
        }
        long at = in.offset();
        int type = in.u8("header");
        if (type != StreamFormat.CONFIGURATION) {
            throw error(at, "expected the configuration section, found " + StreamFormat.typeName(type));
        }
        MachineConfiguration source = MachineConfiguration.fromJson(json(StreamFormat.MAX_CONFIGURATION,
                "configuration"));
        if (destination != null) {
            List<String> diffs = source.differences(destination);
            if (!diffs.isEmpty()) {
                throw new MigrationException("the stream's machine does not match this one:\n  - "
                        + String.join("\n  - ", diffs));
            }
        }

        Map<Integer, Started> started = new HashMap<>();
        Set<Integer> ended = new HashSet<>();
        Set<SaveStateEntry> loaded = new HashSet<>();
        List<Staged> staged = new ArrayList<>();
        int iterativeSections = 0;
        while (true) {
            at = in.offset();
            in.resetChecksum();
            type = in.u8("section header");
            if (type == StreamFormat.EOF) {
                break;
            }
            int sectionId = in.s32("section header");
            if (type == StreamFormat.SECTION_COMMAND) {
                command(at, sectionId);
                continue;
            }
            switch (type) {
                case StreamFormat.SECTION_START, StreamFormat.SECTION_FULL -> {
                    String idstr = in.string8("section header");
                    int instance = in.s32("section header");
                    int sectionVersion = in.s32("section header");
                    SaveStateEntry e = registry.find(idstr, instance);
                    if (e == null) {
                        throw error(at, "section '" + idstr + "' instance " + instance
                                + " is not a part of this machine");
                    }
                    if (!loaded.add(e) || started.containsKey(sectionId)) {
                        throw error(at, "section '" + idstr + "' instance " + instance + " (id " + sectionId
                                + ") appears twice");
                    }
                    in.context(idstr, instance);
                    if (type == StreamFormat.SECTION_FULL) {
                        if (!(e instanceof DeviceStateEntry<?> d)) {
                            throw error(at, "section '" + idstr + "' is iterative but sent as FULL");
                        }
                        if (staged.isEmpty()) {
                            dev.jhv.core.trace.StartupTrace.mark("stream: first device section");
                        }
                        in.startCapture();
                        VMStateValues values = d.decode(in, sectionVersion);
                        byte[] body = in.endCapture();
                        staged.add(new Staged(d, sectionId, sectionVersion, values, at));
                        MigrationException damaged = footerChecksum(sectionId, idstr, instance, at);
                        // the description after EOF may name the fields that changed: read on to it
                        if (damaged != null && damage == null) {
                            damage = new Damage(sectionId, damaged, values, body);
                        }
                    } else {
                        if (!(e instanceof IterativeStateEntry it)) {
                            throw error(at, "device section '" + idstr + "' sent as START");
                        }
                        started.put(sectionId, new Started(e, sectionVersion));
                        it.load(in, SectionType.START, sectionVersion);
                        iterativeSections++;
                        footer(sectionId, idstr, instance, at);
                    }
                }
                case StreamFormat.SECTION_PART, StreamFormat.SECTION_END -> {
                    Started s = started.get(sectionId);
                    if (s == null || ended.contains(sectionId)) {
                        throw error(at, StreamFormat.typeName(type) + " section for id " + sectionId
                                + (s == null ? ", which no START opened" : ", which has already ended"));
                    }
                    in.context(s.entry().idstr(), s.entry().instanceId());
                    ((IterativeStateEntry) s.entry()).load(in,
                            type == StreamFormat.SECTION_PART ? SectionType.PART : SectionType.END, s.version());
                    iterativeSections++;
                    if (type == StreamFormat.SECTION_END) {
                        ended.add(sectionId);
                        dev.jhv.core.trace.StartupTrace.mark("stream: END of " + s.entry().idstr());
                    }
                    footer(sectionId, s.entry().idstr(), s.entry().instanceId(), at);
                }
                default -> throw error(at, "unknown section type " + StreamFormat.typeName(type));
            }
            in.context(null, -1);
        }
        for (var e : started.entrySet()) {
            if (!ended.contains(e.getKey()) && !postcopyListening) {
                throw error(in.offset(), "section '" + e.getValue().entry().idstr() + "' has no END section");
            }
        }
        for (SaveStateEntry e : registry.entries()) {
            if (e instanceof DeviceStateEntry<?> && !loaded.contains(e)) {
                throw error(in.offset(), "the stream has no state for '" + e.idstr() + "' instance "
                        + e.instanceId());
            }
        }
        dev.jhv.core.trace.StartupTrace.mark("stream: EOF");
        Map<Integer, VMStateSchema> described = description();
        dev.jhv.core.trace.StartupTrace.mark("stream: description parsed");
        if (damage != null) {
            throw damage.named(recordedFields);
        }
        for (Staged s : staged) {
            VMStateSchema theirs = described.get(s.sectionId());
            if (theirs == null) {
                throw new MigrationException("the stream's description lacks section '" + s.entry().idstr()
                        + "' (id " + s.sectionId() + ")");
            }
            List<String> diffs = s.entry().description().schema().differences(theirs, s.version());
            if (!diffs.isEmpty()) {
                throw new MigrationException("load of '" + s.entry().idstr() + "' instance "
                        + s.entry().instanceId() + " (stream version " + s.version() + "): the stream's fields "
                        + "differ from this build's:\n  - " + String.join("\n  - ", diffs));
            }
        }
        dev.jhv.core.trace.StartupTrace.mark("stream: schemas checked");
        if (apply) {
            commit(staged);
        }
        dev.jhv.core.trace.StartupTrace.mark("stream: device state applied");
        return new Result(source, in.offset(), staged.size(), iterativeSections);
    }

    private void command(long at, int command) {
        if (command != StreamFormat.COMMAND_POSTCOPY_LISTEN) {
            throw error(at, "unknown command " + command);
        }
        if (postcopyListen == null) {
            throw error(at, "the source switched to postcopy, but postcopy-ram is off on this destination");
        }
        if (postcopyListening) {
            throw error(at, "a second postcopy listen command");
        }
        postcopyListening = true;
        postcopyListen.accept(in);
    }

    private void footer(int sectionId, String idstr, int instance, long sectionStart) {
        MigrationException damaged = footerChecksum(sectionId, idstr, instance, sectionStart);
        if (damaged != null) {
            throw damaged;
        }
    }

    /** Reads a section footer; returns the error for a checksum that does not match (a misplaced footer throws). */
    private MigrationException footerChecksum(int sectionId, String idstr, int instance, long sectionStart) {
        int sum = in.checksum();
        long at = in.offset();
        int f = in.u8("section footer");
        int id = f == StreamFormat.SECTION_FOOTER ? in.s32("section footer") : -1;
        if (f != StreamFormat.SECTION_FOOTER || id != sectionId) {
            throw error(at, "section '" + idstr + "' instance " + instance + " (id " + sectionId
                    + ") does not end with its footer: its state is longer or shorter than this build reads");
        }
        int stored = in.s32("section footer");
        if (stored != sum) {
            return error(sectionStart, String.format("section '%s' instance %d (id %d, bytes %d..%d) is damaged: "
                    + "checksum 0x%08x, expected 0x%08x", idstr, instance, sectionId, sectionStart, at, sum, stored));
        }
        return null;
    }

    /** A device section whose checksum failed, kept until the description can name the fields that changed. */
    private record Damage(int sectionId, MigrationException error, VMStateValues values, byte[] body) {
        MigrationException named(Map<Integer, List<FieldChecksums.Part>> recorded) {
            String clause = FieldChecksums.changedClause(recorded.get(sectionId), FieldChecksums.of(values, body));
            return clause.isEmpty() ? error : new MigrationException(error.getMessage() + clause, error);
        }
    }

    private String json(int max, String what) {
        long at = in.offset();
        long len = in.u32(what);
        if (len > max) {
            throw error(at, "the " + what + " claims " + len + " bytes, more than " + max);
        }
        return new String(in.bytes(what, (int) len), StandardCharsets.UTF_8);
    }

    /** Reads the JSON description after EOF: section id to device schema. */
    private Map<Integer, VMStateSchema> description() {
        long at = in.offset();
        int type = in.u8("description");
        if (type != StreamFormat.VMDESCRIPTION) {
            throw error(at, "expected the JSON description after EOF, found " + StreamFormat.typeName(type));
        }
        long lenAt = in.offset();
        long len = in.u32("description");
        if (len > StreamFormat.MAX_DESCRIPTION) {
            throw error(lenAt, "the description claims " + len + " bytes, more than " + StreamFormat.MAX_DESCRIPTION);
        }
        in.resetChecksum();
        byte[] raw = in.bytes("description", (int) len);
        int sum = in.checksum();
        long len2 = in.u32("description trailer");
        int stored = in.s32("description trailer");
        long trailer = in.u32("description trailer");
        if (trailer != StreamFormat.DESCRIPTION_TRAILER || len2 != len) {
            throw error(in.offset() - 12, "the description trailer is damaged");
        }
        if (stored != sum) {
            throw error(lenAt + 4, "the JSON description is damaged (checksum mismatch)");
        }
        String text = new String(raw, StandardCharsets.UTF_8);
        Description d = parseDescription(text);
        recordedFields = d.fieldChecksums();
        return d.schemas();
    }

    /**
     * A stream's JSON description: per device section id, its schema (iterative sections left out) and the field
     * checksums its writer recorded (writers before them recorded none).
     */
    record Description(Map<Integer, VMStateSchema> schemas, Map<Integer, List<FieldChecksums.Part>> fieldChecksums) { }

    static Description parseDescription(String text) {
        Map<Integer, VMStateSchema> schemas = new HashMap<>();
        Map<Integer, List<FieldChecksums.Part>> checksums = new HashMap<>();
        try {
            Map<?, ?> m = (Map<?, ?>) Json.parse(text);
            for (Object o : (List<?>) m.get("sections")) {
                Map<?, ?> s = (Map<?, ?>) o;
                if ("device".equals(s.get("kind"))) {
                    int id = (int) (long) (Long) s.get("section_id");
                    schemas.put(id, VMStateSchema.fromJson(s.get("description")));
                    List<FieldChecksums.Part> parts = FieldChecksums.fromJson(s.get("field_crc32c"));
                    if (parts != null) {
                        checksums.put(id, parts);
                    }
                }
            }
        } catch (ClassCastException | NullPointerException | Json.JsonException e) {
            throw new MigrationException("the stream's JSON description is not valid: " + e.getMessage(), e);
        } catch (VMStateException e) {
            throw new MigrationException("the stream's JSON description is not valid: " + e.getMessage(), e);
        }
        return new Description(schemas, checksums);
    }

    /** Applies every staged device state; if one refuses, the ones already applied get their old state back. */
    private void commit(List<Staged> staged) {
        List<VMStateValues> before = new ArrayList<>();
        for (Staged s : staged) {
            before.add(s.entry().capture());
        }
        for (int i = 0; i < staged.size(); i++) {
            Staged s = staged.get(i);
            try {
                s.entry().apply(s.values());
            } catch (VMStateException e) {
                for (int j = 0; j < i; j++) {
                    staged.get(j).entry().restore(before.get(j));
                }
                var located = new VMStateException(s.entry().idstr(), s.entry().instanceId(), e.fieldPath(),
                        s.offset(), e.reason(), "stream version " + s.version(), e);
                throw new MigrationException(located.getMessage(), located);
            }
        }
    }
}
