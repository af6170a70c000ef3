package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.Json;
import dev.jhv.core.vmstate.VMStateInput;
import dev.jhv.core.vmstate.VMStateOutput;

import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a stream (see {@link StreamFormat}) from a registry: {@link #writeHeader}, then {@link #iterativeSetup},
 * any number of {@link #iterativePass}es while the guest runs, and {@link #complete} with it stopped.
 * {@link #saveAll} does the whole of a static save.
 */
public final class MigrationStreamWriter {
    private final VMStateOutput out;
    private final Checksum.Out crc;
    private final List<SaveStateEntry> entries;
    private final Map<SaveStateEntry, Integer> sectionIds = new IdentityHashMap<>();
    private final List<Object> described = new ArrayList<>();
    private final Map<SaveStateEntry, Boolean> passDone = new IdentityHashMap<>();

    public MigrationStreamWriter(OutputStream os, SaveStateRegistry registry) {
        this.crc = new Checksum.Out(new BufferedOutputStream(os, 1 << 16));
        this.out = new VMStateOutput(crc);
        this.entries = registry.entries();
        int id = 0;
        for (SaveStateEntry e : entries) {
            sectionIds.put(e, id++);
        }
    }

    /** Bytes written so far. */
    public long bytesWritten() {
        return out.offset();
    }

    /** Magic, version and the configuration section. */
    public void writeHeader(MachineConfiguration config) {
        out.u32(StreamFormat.MAGIC);
        out.u32(StreamFormat.VERSION);
        byte[] json = Json.write(config.toJson()).getBytes(StandardCharsets.UTF_8);
        if (json.length > StreamFormat.MAX_CONFIGURATION) {
            throw new MigrationException("the configuration is larger than " + StreamFormat.MAX_CONFIGURATION);
        }
        out.u8(StreamFormat.CONFIGURATION);
        out.u32(json.length);
        out.bytes(json);
    }

    private void header(int type, SaveStateEntry e) {
        crc.reset();
        out.u8(type);
        out.u32(sectionIds.get(e));
        if (type == StreamFormat.SECTION_START || type == StreamFormat.SECTION_FULL) {
            out.string8(e.idstr());
            out.u32(e.instanceId());
            out.u32(e.version());
        }
    }

    private void footer(SaveStateEntry e) {
        int sum = crc.value();
        out.u8(StreamFormat.SECTION_FOOTER);
        out.u32(sectionIds.get(e));
        out.u32(sum);
    }

    private void describe(SaveStateEntry e, String kind, Map<String, Object> description) {
        describe(e, kind, description, null);
    }

    private void describe(SaveStateEntry e, String kind, Map<String, Object> description, List<Object> fieldCrcs) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("section_id", (long) sectionIds.get(e));
        m.put("name", e.idstr());
        m.put("instance_id", (long) e.instanceId());
        m.put("version", (long) e.version());
        m.put("kind", kind);
        m.put("description", description);
        if (fieldCrcs != null) {
            m.put("field_crc32c", fieldCrcs);
        }
        described.add(m);
    }

    /** A START section for every iterative entry. */
    public void iterativeSetup() {
        for (SaveStateEntry e : entries) {
            if (e instanceof IterativeStateEntry it) {
                header(StreamFormat.SECTION_START, e);
                it.saveSetup(out);
                footer(e);
                describe(e, "iterative", it.describe());
            }
        }
    }

    /** Pushes what is buffered to the wire (the end of a pass). */
    public void flush() {
        out.flush();
    }

    /** Starts another pass over the iterative entries (after new dirty pages were marked). */
    public void newPass() {
        passDone.clear();
    }

    /**
     * One PART section for each iterative entry that has more to send in this pass.
     *
     * @return true when every entry has finished its pass
     */
    public boolean iterativePass() {
        boolean all = true;
        for (SaveStateEntry e : entries) {
            if (e instanceof IterativeStateEntry it && !passDone.getOrDefault(e, false)) {
                header(StreamFormat.SECTION_PART, e);
                boolean done = it.saveIterate(out);
                footer(e);
                passDone.put(e, done);
                all &= done;
            }
        }
        return all;
    }

    /** END sections, a FULL section for every device, EOF, the JSON description and the trailer; flushes. */
    public void complete() {
        completeIterative();
        completeDevices();
    }

    /** The END section of every iterative entry (RAM: every page still pending). */
    public void completeIterative() {
        for (SaveStateEntry e : entries) {
            if (e instanceof IterativeStateEntry it) {
                header(StreamFormat.SECTION_END, e);
                it.saveComplete(out);
                footer(e);
            }
        }
    }

    /** A FULL section for every device, EOF, the JSON description and the trailer; flushes. */
    public void completeDevices() {
        for (SaveStateEntry e : entries) {
            if (e instanceof DeviceStateEntry<?> d) {
                header(StreamFormat.SECTION_FULL, e);
                byte[] body = d.encode();
                out.bytes(body);
                footer(e);
                // per field, so that a reader whose section checksum fails can say which fields changed
                var parts = FieldChecksums.of(d.decode(new VMStateInput(body), d.version()), body);
                describe(e, "device", d.description().schema().toJson(), FieldChecksums.toJson(parts));
            }
        }
        out.u8(StreamFormat.EOF);
        Map<String, Object> desc = new LinkedHashMap<>();
        desc.put("jhv_stream_version", (long) StreamFormat.VERSION);
        desc.put("page_size", (long) RamSectionWriter.PAGE_SIZE);
        desc.put("sections", described);
        byte[] json = Json.write(desc).getBytes(StandardCharsets.UTF_8);
        out.u8(StreamFormat.VMDESCRIPTION);
        out.u32(json.length);
        crc.reset();
        out.bytes(json);
        int sum = crc.value();
        out.u32(json.length);
        out.u32(sum);
        out.u32(StreamFormat.DESCRIPTION_TRAILER);
        out.flush();
    }

    /**
     * Postcopy's listen command (see {@link StreamFormat#SECTION_COMMAND}) with {@code body} written by the
     * postcopy source; the device sections follow, not the RAM END.
     */
    public void postcopyListen(java.util.function.Consumer<VMStateOutput> body) {
        out.u8(StreamFormat.SECTION_COMMAND);
        out.u32(StreamFormat.COMMAND_POSTCOPY_LISTEN);
        body.accept(out);
    }

    /** The static save of a stopped machine: header, START, END and FULL sections, EOF, description. */
    public void saveAll(MachineConfiguration config) {
        writeHeader(config);
        iterativeSetup();
        complete();
    }
}
