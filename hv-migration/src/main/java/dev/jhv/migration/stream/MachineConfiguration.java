package dev.jhv.migration.stream;

import dev.jhv.core.vmstate.Json;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the destination must match before any state loads: machine type, memory size and layout, vCPU count, CPU
 * model and a digest of the CPUID the guest sees, and the devices (idstr/instance). Written as the stream's
 * configuration section; {@link #differences} lists every mismatch.
 */
public record MachineConfiguration(String machineType, long memorySize, List<MemoryRegion> memoryLayout, int vcpus,
                                   String cpuModel, String cpuidDigest, List<String> devices) {

    /** One RAM region: its block name, guest-physical address and size. */
    public record MemoryRegion(String name, long gpa, long size) { }

    public MachineConfiguration {
        memoryLayout = List.copyOf(memoryLayout);
        devices = List.copyOf(devices);
    }

    /** This configuration with the device list of a registry ("idstr/instance" for each entry). */
    public MachineConfiguration withDevices(SaveStateRegistry registry) {
        var ids = new ArrayList<String>();
        for (SaveStateEntry e : registry.entries()) {
            ids.add(e.idstr() + "/" + e.instanceId());
        }
        return new MachineConfiguration(machineType, memorySize, memoryLayout, vcpus, cpuModel, cpuidDigest, ids);
    }

    /** Every way {@code destination} differs from this (the stream's) configuration; empty when they match. */
    public List<String> differences(MachineConfiguration destination) {
        var out = new ArrayList<String>();
        if (!machineType.equals(destination.machineType)) {
            out.add("machine type: stream '" + machineType + "', destination '" + destination.machineType + "'");
        }
        if (memorySize != destination.memorySize) {
            out.add("memory size: stream " + mib(memorySize) + ", destination " + mib(destination.memorySize)
                    + " (-m)");
        }
        if (!memoryLayout.equals(destination.memoryLayout)) {
            out.add("memory layout: stream " + layout(memoryLayout) + ", destination "
                    + layout(destination.memoryLayout));
        }
        if (vcpus != destination.vcpus) {
            out.add("vCPUs: stream " + vcpus + ", destination " + destination.vcpus + " (-smp)");
        }
        if (!cpuModel.equals(destination.cpuModel)) {
            out.add("CPU model: stream '" + cpuModel + "', destination '" + destination.cpuModel + "' (-cpu)");
        }
        if (!cpuidDigest.equals(destination.cpuidDigest)) {
            out.add("CPUID: stream " + cpuidDigest + ", destination " + destination.cpuidDigest);
        }
        for (String d : devices) {
            if (!destination.devices.contains(d)) {
                out.add("device " + d + ": in the stream, not on the destination");
            }
        }
        for (String d : destination.devices) {
            if (!devices.contains(d)) {
                out.add("device " + d + ": on the destination, not in the stream");
            }
        }
        return out;
    }

    private static String mib(long bytes) {
        return bytes % (1 << 20) == 0 ? (bytes >> 20) + " MiB" : bytes + " bytes";
    }

    private static String layout(List<MemoryRegion> l) {
        var sb = new StringBuilder("[");
        for (MemoryRegion r : l) {
            if (sb.length() > 1) {
                sb.append(", ");
            }
            sb.append(String.format("%s@0x%x+%s", r.name(), r.gpa(), mib(r.size())));
        }
        return sb.append(']').toString();
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("machine_type", machineType);
        m.put("memory_size", memorySize);
        var regions = new ArrayList<Object>();
        for (MemoryRegion r : memoryLayout) {
            Map<String, Object> rm = new LinkedHashMap<>();
            rm.put("name", r.name());
            rm.put("gpa", r.gpa());
            rm.put("size", r.size());
            regions.add(rm);
        }
        m.put("memory_layout", regions);
        m.put("vcpus", (long) vcpus);
        m.put("cpu_model", cpuModel);
        m.put("cpuid_digest", cpuidDigest);
        m.put("devices", new ArrayList<Object>(devices));
        return m;
    }

    /** Parses the configuration section's JSON (untrusted). */
    public static MachineConfiguration fromJson(String text) {
        try {
            Map<?, ?> m = (Map<?, ?>) Json.parse(text);
            var regions = new ArrayList<MemoryRegion>();
            for (Object o : (List<?>) m.get("memory_layout")) {
                Map<?, ?> r = (Map<?, ?>) o;
                regions.add(new MemoryRegion((String) r.get("name"), num(r, "gpa"), num(r, "size")));
            }
            var devices = new ArrayList<String>();
            for (Object o : (List<?>) m.get("devices")) {
                devices.add((String) o);
            }
            long vcpus = num(m, "vcpus");
            if (vcpus > 4096) {
                throw new MigrationException("configuration: " + vcpus + " vCPUs");
            }
            return new MachineConfiguration(str(m, "machine_type"), num(m, "memory_size"), regions, (int) vcpus,
                    str(m, "cpu_model"), str(m, "cpuid_digest"), devices);
        } catch (ClassCastException | NullPointerException | Json.JsonException e) {
            throw new MigrationException("the configuration section is not valid: " + e.getMessage(), e);
        }
    }

    private static String str(Map<?, ?> m, String k) {
        Object o = m.get(k);
        if (o instanceof String s) {
            return s;
        }
        throw new MigrationException("the configuration section has no '" + k + "'");
    }

    private static long num(Map<?, ?> m, String k) {
        if (m.get(k) instanceof Long l) {
            return l;
        }
        throw new MigrationException("the configuration section has no number '" + k + "'");
    }
}
