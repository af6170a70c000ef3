package dev.jhv.qcow2.tool;

import dev.jhv.core.block.BlockDevice;
import dev.jhv.core.block.ImageLock;
import dev.jhv.core.block.ImageLock.Access;
import dev.jhv.core.block.RawFileBlockDevice;
import dev.jhv.qcow2.BlockImages;
import dev.jhv.qcow2.BlockStatus;
import dev.jhv.qcow2.CheckResult;
import dev.jhv.qcow2.ImageChecker;
import dev.jhv.qcow2.Qcow2Exception;
import dev.jhv.qcow2.Qcow2Image;
import dev.jhv.qcow2.snapshot.Snapshot;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** {@code jhv-img}: qemu-img's verbs and flags over jhv's qcow2 and raw drivers. */
public final class JhvImg {
    private final PrintStream out;

    JhvImg(PrintStream out) {
        this.out = out;
    }

    /** A usage or input error: printed as one line, exit status 1. */
    static final class UsageException extends Exception {
        UsageException(String m) {
            super(m);
        }
    }

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        System.out.flush();
        System.exit(rc);
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            for (String s : args) {
                // the JVM decoded a byte that is not UTF-8 into U+FFFD: the file it names cannot be reached
                if (s.indexOf('\uFFFD') >= 0) {
                    throw new UsageException("'" + s + "': the name is not valid UTF-8; jhv-img can only open files whose names are");
                }
            }
            if (args.length == 0) throw new UsageException("Not enough arguments\nTry 'jhv-img --help' for more information");
            var rest = List.of(args).subList(1, args.length);
            var tool = new JhvImg(out);
            return switch (args[0]) {
                case "create" -> tool.create(rest);
                case "info" -> tool.info(rest);
                case "check" -> tool.check(rest);
                case "snapshot" -> tool.snapshot(rest);
                case "convert" -> tool.convert(rest);
                case "resize" -> tool.resize(rest);
                case "commit" -> tool.commit(rest);
                case "rebase" -> tool.rebase(rest);
                case "map" -> tool.map(rest);
                case "bench" -> tool.bench(rest);
                case "--help", "-h", "help" -> {
                    out.println("usage: jhv-img [create|info|check|snapshot|convert|resize|commit|rebase|map|bench] ...");
                    yield 0;
                }
                default -> throw new UsageException("Command not found: " + args[0]);
            };
        } catch (UsageException e) {
            out.flush();
            err.println("jhv-img: " + e.getMessage());
            return 1;
        } catch (java.nio.file.FileSystemException e) {
            // the JDK's message is only the file name: say which file and why, as qemu-img does
            out.flush();
            err.println("jhv-img: Could not open '" + e.getFile() + "': " + Qcow2Exception.reason(e));
            return 1;
        } catch (IOException e) {
            out.flush();
            err.println("jhv-img: " + Qcow2Exception.reason(e));
            return 1;
        } catch (java.nio.file.InvalidPathException e) {
            out.flush();
            err.println("jhv-img: '" + e.getInput() + "': the name cannot be written in this system's character set"
                    + " (a UTF-8 locale can)");
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("jhv-img: interrupted");
            return 1;
        } catch (Exception e) {
            out.flush();
            err.println("jhv-img: internal error: " + (e.getMessage() != null ? e.getMessage() : "no details"));
            return 1;
        }
    }

    // ---------------------------------------------------------------- argument parsing

    /** getopt-like parse: flags in withValue take an argument ("-f raw", "-fraw", "--output=json"). */
    record Args(Map<String, String> opts, List<String> pos) {
        boolean has(String k) {
            return opts.containsKey(k);
        }

        String get(String k) {
            return opts.get(k);
        }

        String get(String k, String def) {
            return opts.getOrDefault(k, def);
        }
    }

    static Args parse(List<String> a, Set<String> withValue, Set<String> flags) throws UsageException {
        var opts = new HashMap<String, String>();
        var pos = new ArrayList<String>();
        for (int i = 0; i < a.size(); i++) {
            String s = a.get(i);
            if (s.startsWith("--") && s.length() > 2) {
                int eq = s.indexOf('=');
                String k = eq < 0 ? s : s.substring(0, eq);
                if (withValue.contains(k)) {
                    if (eq >= 0) opts.put(k, s.substring(eq + 1));
                    else if (i + 1 < a.size()) opts.put(k, a.get(++i));
                    else throw new UsageException("option '" + k + "' requires an argument");
                } else if (flags.contains(k)) {
                    opts.put(k, "");
                } else {
                    throw new UsageException("unrecognized option '" + s + "'");
                }
            } else if (s.startsWith("-") && s.length() > 1) {
                String k = s.substring(0, 2);
                if (withValue.contains(k)) {
                    if (s.length() > 2) opts.put(k, s.substring(2));
                    else if (i + 1 < a.size()) opts.put(k, a.get(++i));
                    else throw new UsageException("option requires an argument -- '" + k.charAt(1) + "'");
                } else if (flags.contains(k) && s.length() == 2) {
                    opts.put(k, "");
                } else {
                    throw new UsageException("invalid option -- '" + s.substring(1) + "'");
                }
            } else {
                pos.add(s);
            }
        }
        return new Args(opts, pos);
    }

    /** Sizes as qemu-img takes them: bytes, or with a k/M/G/T/P/E suffix (binary). */
    static long parseSize(String s) throws UsageException {
        String t = s.trim();
        if (t.isEmpty()) throw new UsageException("Invalid image size specified. You may use k, M, G, T, P or E suffixes for");
        long mult = 1;
        char c = Character.toUpperCase(t.charAt(t.length() - 1));
        int shift = "BKMGTPE".indexOf(c);
        if (shift >= 0) {
            mult = 1L << (10 * shift);
            t = t.substring(0, t.length() - 1);
        }
        try {
            var v = new java.math.BigDecimal(t).multiply(java.math.BigDecimal.valueOf(mult));
            if (v.signum() < 0 || v.compareTo(java.math.BigDecimal.valueOf(Long.MAX_VALUE)) > 0) throw new NumberFormatException();
            return v.longValue();
        } catch (NumberFormatException e) {
            throw new UsageException("Invalid image size specified. You may use k, M, G, T, P or E suffixes for\n"
                    + "jhv-img: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
        }
    }

    static Map<String, String> parseOptions(String o) throws UsageException {
        var m = new java.util.LinkedHashMap<String, String>();
        if (o == null || o.isEmpty()) return m;
        for (String kv : o.split(",")) {
            int eq = kv.indexOf('=');
            if (eq < 0) throw new UsageException("Invalid option list: " + o);
            m.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return m;
    }

    static String oneFile(Args a, String verb) throws UsageException {
        if (a.pos().size() != 1) throw new UsageException("Expecting one image file name");
        return a.pos().getFirst();
    }

    /** -U / --force-share: lets others in, and only for a read-only open (as qemu-img). */
    static boolean forceShare(Args a) {
        return a.has("-U") || a.has("--force-share");
    }

    static Access access(Args a, Path file, Access role) throws UsageException {
        if (!forceShare(a)) return role;
        if (role.writes()) {
            throw new UsageException("Could not open '" + file + "': force-share=on can only be used with read-only images");
        }
        return role.forceShared();
    }

    /** Human sizes as qemu prints them: three significant digits and a binary unit. */
    static String humanSize(long v) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        int u = 0;
        double d = v;
        while (d >= 1024 && u < units.length - 1) {
            d /= 1024;
            u++;
        }
        var bd = new java.math.BigDecimal(d).round(new java.math.MathContext(3)).stripTrailingZeros();
        return bd.toPlainString() + " " + units[u];
    }

    // ---------------------------------------------------------------- create

    int create(List<String> argv) throws Exception {
        var a = parse(argv, Set.of("-f", "-b", "-F", "-o"), Set.of("-q", "-u"));
        if (a.pos().isEmpty() || a.pos().size() > 2) throw new UsageException("Expecting image file name");
        Path file = Path.of(a.pos().get(0));
        String fmt = a.get("-f", "raw");
        var o = parseOptions(a.get("-o"));
        String backing = a.get("-b", o.get("backing_file"));
        String backingFmt = a.get("-F", o.get("backing_fmt"));
        Long size = null;
        if (a.pos().size() == 2) size = parseSize(a.pos().get(1));
        else if (o.containsKey("size")) size = parseSize(o.get("size"));
        if (size == null) {
            if (backing == null) throw new UsageException("Image creation needs a size parameter");
            Path bp = file.toAbsolutePath().getParent().resolve(backing);
            try (var b = BlockImages.open(bp, backingFmt, Access.inspector())) {
                size = b.size();
                if (backingFmt == null) backingFmt = BlockImages.probe(bp);
            }
        } else if (backing != null && backingFmt == null && !a.has("-u")) {
            backingFmt = BlockImages.probe(file.toAbsolutePath().getParent().resolve(backing));
        }
        switch (fmt) {
            case "raw" -> {
                if (backing != null) throw new UsageException("Backing file not supported for file format 'raw'");
                if (!a.has("-q")) out.println("Formatting '" + file + "', fmt=raw size=" + size);
                createRaw(file, size);
            }
            case "qcow2" -> {
                var co = qcow2Options(o, size).withBacking(backing, backingFmt);
                if (!a.has("-q")) {
                    out.println("Formatting '" + file + "', fmt=qcow2 cluster_size=" + co.clusterSize()
                            + " extended_l2=off compression_type=zlib size=" + size
                            + (backing != null ? " backing_file=" + backing : "")
                            + (backingFmt != null ? " backing_fmt=" + backingFmt : "")
                            + " lazy_refcounts=" + (co.lazyRefcounts() ? "on" : "off") + " refcount_bits=" + co.refcountBits());
                }
                Qcow2Image.create(file, co).close();
            }
            default -> throw new UsageException("Unknown file format '" + fmt + "'");
        }
        return 0;
    }

    /** An empty raw file of {@code size} bytes; an image in use elsewhere is refused before it is truncated. */
    static void createRaw(Path file, long size) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             var lock = lockForCreate(file)) {
            ch.truncate(0);
            if (size > 0) ch.write(ByteBuffer.allocate(1), size - 1);
        }
    }

    private static ImageLock lockForCreate(Path file) throws IOException {
        try {
            return ImageLock.acquire(file, Access.writer());
        } catch (ImageLock.ConflictException e) {
            throw new Qcow2Exception(file + ": " + e.getMessage(), e);
        }
    }

    static Qcow2Image.CreateOptions qcow2Options(Map<String, String> o, long size) throws UsageException {
        var co = Qcow2Image.CreateOptions.of(size);
        for (var e : o.entrySet()) {
            String v = e.getValue();
            switch (e.getKey()) {
                case "cluster_size" -> co = co.withClusterSize((int) parseSize(v));
                case "compat" -> co = co.withVersion(switch (v) {
                    case "0.10", "v2" -> 2;
                    case "1.1", "v3" -> 3;
                    default -> throw new UsageException("Invalid parameter '" + v + "'");
                });
                case "lazy_refcounts" -> co = co.withLazyRefcounts(bool(v));
                case "refcount_bits" -> {
                    try {
                        co = co.withRefcountBits(Integer.parseInt(v));
                    } catch (NumberFormatException ex) {
                        throw new UsageException("Invalid parameter 'refcount_bits'");
                    }
                }
                case "backing_file", "backing_fmt", "size" -> { }
                case "preallocation" -> {
                    if (!v.equals("off")) throw new UsageException("preallocation=" + v + " is not supported");
                }
                case "compression_type" -> {
                    if (!v.equals("zlib")) throw new UsageException("compression_type=" + v + " is not supported");
                }
                case "extended_l2" -> {
                    if (bool(v)) throw new UsageException("extended_l2=on is not supported");
                }
                default -> throw new UsageException("Invalid parameter '" + e.getKey() + "'");
            }
        }
        return co;
    }

    static boolean bool(String v) throws UsageException {
        return switch (v) {
            case "on", "true", "yes" -> true;
            case "off", "false", "no" -> false;
            default -> throw new UsageException("Parameter expects 'on' or 'off', got '" + v + "'");
        };
    }

    // ---------------------------------------------------------------- info

    int info(List<String> argv) throws Exception {
        var a = parse(argv, Set.of("-f", "--output"), Set.of("--backing-chain", "-U", "--force-share"));
        Path file = Path.of(oneFile(a, "info"));
        String output = a.get("--output", "human");
        var chain = new ArrayList<Map<String, Object>>();
        Path p = file;
        String fmt = a.get("-f");
        int depth = 0;
        Access role = access(a, file, Access.inspector());
        while (p != null && depth++ < 64) {
            try (var dev = BlockImages.open(p, fmt, role)) {
                var m = infoMap(p, dev);
                chain.add(m);
                if (!a.has("--backing-chain") || !(dev instanceof Qcow2Image q) || q.backingFileName() == null) break;
                p = resolve(p, q.backingFileName());
                fmt = q.backingFormat();
            }
        }
        if (output.equals("json")) {
            out.println(Json.write(a.has("--backing-chain") ? chain : chain.getFirst()));
        } else if (output.equals("human")) {
            for (int i = 0; i < chain.size(); i++) {
                if (i > 0) out.println();
                printHumanInfo(chain.get(i));
            }
        } else {
            throw new UsageException("--output must be used with human or json as argument.");
        }
        return 0;
    }

    static Path resolve(Path image, String backing) {
        Path parent = image.getParent();
        return parent == null ? Path.of(backing) : parent.resolve(backing);
    }

    static long actualSize(Path p) {
        try {
            return Files.size(p) == 0 ? 0 : DiskUsage.allocatedBytes(p);
        } catch (IOException e) {
            return 0;
        }
    }

    Map<String, Object> infoMap(Path p, BlockDevice dev) throws IOException {
        var m = new java.util.LinkedHashMap<String, Object>();
        if (dev instanceof Qcow2Image q && !q.snapshots().isEmpty()) {
            var list = new ArrayList<Object>();
            for (var s : q.snapshots()) {
                var sm = new java.util.LinkedHashMap<String, Object>();
                sm.put("icount", s.icount());
                sm.put("vm-clock-nsec", s.vmClockNs() % 1_000_000_000L);
                sm.put("name", s.name());
                sm.put("date-sec", s.dateSec());
                sm.put("date-nsec", s.dateNsec());
                sm.put("vm-clock-sec", s.vmClockNs() / 1_000_000_000L);
                sm.put("id", s.id());
                sm.put("vm-state-size", s.vmStateSize());
                list.add(sm);
            }
            m.put("snapshots", list);
        }
        if (dev instanceof Qcow2Image q && q.backingFileName() != null && q.backingFormat() != null) {
            m.put("backing-filename-format", q.backingFormat());
        }
        m.put("virtual-size", dev.size());
        m.put("filename", p.toString());
        if (dev instanceof Qcow2Image q) m.put("cluster-size", (long) q.clusterSize());
        m.put("format", dev instanceof Qcow2Image ? "qcow2" : "raw");
        m.put("actual-size", actualSize(p));
        if (dev instanceof Qcow2Image q) {
            var data = new java.util.LinkedHashMap<String, Object>();
            data.put("compat", q.version() == 3 ? "1.1" : "0.10");
            data.put("compression-type", "zlib");
            if (q.version() == 3) data.put("lazy-refcounts", q.lazyRefcounts());
            data.put("refcount-bits", (long) q.refcountBits());
            if (q.version() == 3) {
                data.put("corrupt", q.isCorrupt());
                data.put("extended-l2", false);
            }
            var fs = new java.util.LinkedHashMap<String, Object>();
            fs.put("type", "qcow2");
            fs.put("data", data);
            m.put("format-specific", fs);
            if (q.backingFileName() != null) {
                m.put("full-backing-filename", resolve(p, q.backingFileName()).toString());
                m.put("backing-filename", q.backingFileName());
            }
        }
        m.put("dirty-flag", dev instanceof Qcow2Image q && q.isDirty());
        return m;
    }

    @SuppressWarnings("unchecked")
    void printHumanInfo(Map<String, Object> m) {
        out.println("image: " + m.get("filename"));
        out.println("file format: " + m.get("format"));
        long vs = (Long) m.get("virtual-size");
        out.println("virtual size: " + humanSize(vs) + " (" + vs + " bytes)");
        out.println("disk size: " + humanSize((Long) m.get("actual-size")));
        if (m.containsKey("cluster-size")) out.println("cluster_size: " + m.get("cluster-size"));
        if (m.containsKey("backing-filename")) {
            out.println("backing file: " + m.get("backing-filename"));
            if (m.containsKey("backing-filename-format")) out.println("backing file format: " + m.get("backing-filename-format"));
        }
        if (m.containsKey("snapshots")) {
            out.println("Snapshot list:");
            out.println(snapshotHeader());
            for (var o : (List<Object>) m.get("snapshots")) {
                var s = (Map<String, Object>) o;
                out.println(snapshotRow((String) s.get("id"), (String) s.get("name"), (Long) s.get("vm-state-size"),
                        (Long) s.get("date-sec"), (Long) s.get("vm-clock-sec") * 1_000_000_000L + (Long) s.get("vm-clock-nsec"),
                        (Long) s.get("icount")));
            }
        }
        if (m.get("format-specific") instanceof Map<?, ?> fs) {
            out.println("Format specific information:");
            for (var e : ((Map<String, Object>) fs.get("data")).entrySet()) {
                out.println("    " + e.getKey().replace('-', ' ') + ": " + e.getValue());
            }
        }
    }

    static String snapshotHeader() {
        return String.format("%-9s %-17s %7s%20s%13s%11s", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
    }

    static String snapshotRow(String id, String name, long vmSize, long dateSec, long clockNs, long icount) {
        var date = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault())
                .format(Instant.ofEpochSecond(dateSec));
        long ms = clockNs / 1_000_000;
        String clock = String.format("%02d:%02d:%02d.%03d", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        return String.format("%-9s %-17s %7s%20s%13s%11s", id, name, humanSize(vmSize), date, clock,
                icount == -1 ? "" : Long.toString(icount));
    }

    // ---------------------------------------------------------------- check

    int check(List<String> argv) throws Exception {
        var a = parse(argv, Set.of("-f", "-r", "--output", "-T"), Set.of("-q", "-U", "--force-share"));
        Path file = Path.of(oneFile(a, "check"));
        String output = a.get("--output", "human");
        var repair = switch (a.get("-r", "")) {
            case "" -> ImageChecker.Repair.NONE;
            case "leaks" -> ImageChecker.Repair.LEAKS;
            case "all" -> ImageChecker.Repair.ALL;
            default -> throw new UsageException("Unknown option value for -r (expecting 'leaks' or 'all'): " + a.get("-r"));
        };
        String fmt = a.get("-f") == null ? BlockImages.probe(file) : a.get("-f");
        if (!fmt.equals("qcow2")) {
            out.println("This image format does not support checks");
            return 63;
        }
        CheckResult r;
        CheckResult first = null;
        Access role = access(a, file, repair == ImageChecker.Repair.NONE ? Access.reader() : Access.writer());
        try (var img = Qcow2Image.open(file, role)) {
            r = img.check(repair);
            if (repair != ImageChecker.Repair.NONE && (r.leaksFixed() > 0 || r.corruptionsFixed() > 0)) {
                first = r;
                r = img.check(ImageChecker.Repair.NONE);
            }
        }
        if (output.equals("json")) {
            var m = new java.util.LinkedHashMap<String, Object>();
            m.put("image-end-offset", r.imageEndOffset());
            m.put("total-clusters", r.totalClusters());
            m.put("check-errors", (long) r.checkErrors());
            if (r.leaks() > 0) m.put("leaks", (long) r.leaks());
            if (r.corruptions() > 0) m.put("corruptions", (long) r.corruptions());
            if (first != null && first.leaksFixed() > 0) m.put("leaks-fixed", (long) first.leaksFixed());
            if (first != null && first.corruptionsFixed() > 0) m.put("corruptions-fixed", (long) first.corruptionsFixed());
            if (r.allocatedClusters() > 0) m.put("allocated-clusters", r.allocatedClusters());
            m.put("filename", file.toString());
            m.put("format", "qcow2");
            if (r.fragmentedClusters() > 0) m.put("fragmented-clusters", r.fragmentedClusters());
            if (r.compressedClusters() > 0) m.put("compressed-clusters", r.compressedClusters());
            out.println(Json.write(m));
        } else {
            if (first != null) {
                for (var msg : first.messages()) out.println(msg.startsWith("ERROR ") ? "Repairing " + msg.substring(6) : "Repairing " + msg);
                out.println("The following inconsistencies were found and repaired:\n");
                out.println("    " + first.leaksFixed() + " leaked clusters");
                out.println("    " + first.corruptionsFixed() + " corruptions\n");
                out.println("Double checking the fixed image now...");
            }
            for (var msg : r.messages()) out.println(msg);
            if (r.clean()) {
                out.println("No errors were found on the image.");
            } else {
                if (r.corruptions() > 0) {
                    out.println("\n" + r.corruptions() + " errors were found on the image.");
                    out.println("Data may be corrupted, or further writes to the image may corrupt it.");
                }
                if (r.leaks() > 0) {
                    out.println("\n" + r.leaks() + " leaked clusters were found on the image.");
                    out.println("This means waste of disk space, but no harm to data.");
                }
                if (r.checkErrors() > 0) {
                    out.println("\n" + r.checkErrors() + " internal errors have occurred during the check.");
                }
            }
            if (r.totalClusters() > 0) {
                out.printf(Locale.ROOT, "%d/%d = %s%% allocated, %s%% fragmented, %s%% compressed clusters%n",
                        r.allocatedClusters(), r.totalClusters(), pct(100.0 * r.allocatedClusters() / r.totalClusters()),
                        pct(r.allocatedClusters() == 0 ? 0.0 : 100.0 * r.fragmentedClusters() / r.allocatedClusters()),
                        pct(r.allocatedClusters() == 0 ? 0.0 : 100.0 * r.compressedClusters() / r.allocatedClusters()));
            }
            out.println("Image end offset: " + r.imageEndOffset());
        }
        if (r.checkErrors() > 0) return 1;
        if (r.corruptions() > 0) return 2;
        if (r.leaks() > 0) return 3;
        return 0;
    }

    /** Two decimals rounded as C's printf does (half to even on the exact binary value). */
    static String pct(double v) {
        return new java.math.BigDecimal(v).setScale(2, java.math.RoundingMode.HALF_EVEN).toPlainString();
    }

    // ---------------------------------------------------------------- snapshot

    int snapshot(List<String> argv) throws Exception {
        var a = parse(argv, Set.of("-c", "-a", "-d", "-f"), Set.of("-l", "-q", "-U", "--force-share"));
        Path file = Path.of(oneFile(a, "snapshot"));
        int actions = (a.has("-l") ? 1 : 0) + (a.has("-c") ? 1 : 0) + (a.has("-a") ? 1 : 0) + (a.has("-d") ? 1 : 0);
        if (actions > 1) throw new UsageException("Cannot mix '-l', '-a', '-c', '-d'");
        boolean list = actions == 0 || a.has("-l");
        try (var img = openQcow2(file, access(a, file, list ? Access.reader() : Access.writer()))) {
            if (list) {
                if (img.snapshots().isEmpty()) return 0;
                out.println("Snapshot list:");
                out.println(snapshotHeader());
                for (Snapshot s : img.snapshots()) {
                    out.println(snapshotRow(s.id(), s.name(), s.vmStateSize(), s.dateSec(), s.vmClockNs(), s.icount()));
                }
            } else if (a.has("-c")) {
                try {
                    img.createSnapshot(a.get("-c"), 0, 0);
                } catch (Qcow2Exception e) {
                    throw new UsageException("Could not create snapshot '" + a.get("-c") + "': " + e.getMessage());
                }
            } else if (a.has("-a")) {
                try {
                    img.applySnapshot(a.get("-a"));
                } catch (Qcow2Exception e) {
                    throw new UsageException("Could not apply snapshot '" + a.get("-a") + "': " + e.getMessage());
                }
            } else {
                try {
                    img.deleteSnapshot(a.get("-d"));
                } catch (Qcow2Exception e) {
                    throw new UsageException("Could not delete snapshot '" + a.get("-d") + "': " + e.getMessage());
                }
            }
        }
        return 0;
    }

    static Qcow2Image openQcow2(Path file, Access access) throws IOException, UsageException {
        if (!BlockImages.probe(file).equals("qcow2")) {
            throw new UsageException("'" + file + "': this operation needs a qcow2 image");
        }
        return Qcow2Image.open(file, access);
    }

    // ---------------------------------------------------------------- convert

    int convert(List<String> argv) throws Exception {
        var a = parse(argv, Set.of("-f", "-O", "-o", "-t", "-T", "-m", "-B", "-F"),
                Set.of("-c", "-p", "-q", "-n", "-U", "--force-share", "-W"));
        if (a.pos().size() != 2) throw new UsageException("Expecting one input and one output file name");
        Path in = Path.of(a.pos().get(0));
        Path outFile = Path.of(a.pos().get(1));
        String outFmt = a.get("-O", "raw");
        boolean compress = a.has("-c");
        if (compress && !outFmt.equals("qcow2")) throw new UsageException("Compression not supported for format '" + outFmt + "'");
        // -B: the target gets a backing file, and what the source takes from below its own top layer is assumed to
        // be there already (qemu-img's rule: it is not compared, only left out)
        String backing = a.get("-B");
        if (backing != null && !outFmt.equals("qcow2")) {
            throw new UsageException("Backing file not supported for file format '" + outFmt + "'");
        }
        // nobody may change the source while it is copied (qemu-img convert's lock), unless -U
        Access srcRole = access(a, in, Access.reader().unsharing(ImageLock.Permission.WRITE, ImageLock.Permission.RESIZE));
        try (var src = BlockImages.open(in, a.get("-f"), srcRole)) {
            long size = src.size();
            BlockDevice dst;
            if (outFmt.equals("qcow2")) {
                var co = qcow2Options(parseOptions(a.get("-o")), size);
                if (backing != null) {
                    String backingFmt = a.get("-F");
                    if (backingFmt == null) {
                        backingFmt = BlockImages.probe(outFile.toAbsolutePath().getParent().resolve(backing));
                    }
                    co = co.withBacking(backing, backingFmt);
                }
                dst = Qcow2Image.create(outFile, co);
            } else if (outFmt.equals("raw")) {
                createRaw(outFile, size);
                dst = BlockImages.open(outFile, "raw", Access.writer());
            } else {
                throw new UsageException("Unknown file format '" + outFmt + "'");
            }
            try (dst) {
                int chunk = dst instanceof Qcow2Image q ? Math.max(q.clusterSize(), compress ? 0 : 1 << 20) : 1 << 20;
                if (compress) chunk = ((Qcow2Image) dst).clusterSize();
                var progress = new Progress(out, a.has("-p"));
                byte[] buf = new byte[chunk];
                // zero runs of this size are skipped, leaving the target sparse (qemu-img convert's -S 4k; a qcow2
                // target allocates whole clusters anyway)
                int sparseUnit = dst instanceof Qcow2Image q ? q.clusterSize() : 4096;
                long pos = 0;
                while (pos < size) {
                    var st = BlockStatus.of(src, pos, size - pos);
                    long stEnd = pos + Math.max(st.length(), 1);
                    boolean below = st.depth() > 0 || !st.present();
                    if (backing != null && below || st.zero() && !st.data() || !st.present()) {
                        if (backing != null && !below) {
                            dst.writeZeroes(pos, stEnd - pos);   // over a backing file, zeroes must be said
                        }
                        pos = stEnd; // else: the new target already reads as zero, or as the backing file
                        progress.update(pos, size);
                        continue;
                    }
                    while (pos < stEnd) {
                        // compressed clusters are written whole; otherwise only this extent's part of the chunk
                        long chunkStart = pos - Math.floorMod(pos, (long) chunk);
                        long base = compress ? chunkStart : pos;
                        long end = Math.min(size, chunkStart + chunk);
                        if (!compress) end = Math.min(end, stEnd);
                        int n = (int) (end - base);
                        src.read(base, ByteBuffer.wrap(buf, 0, n));
                        if (compress) {
                            if (!isZero(buf, 0, n)) {
                                if (n < chunk) java.util.Arrays.fill(buf, n, chunk, (byte) 0);
                                ((Qcow2Image) dst).writeCompressed(base, buf);
                            }
                        } else if (backing != null) {
                            dst.write(base, ByteBuffer.wrap(buf, 0, n));    // a zero run left out would show the backing
                        } else {
                            writeNonZero(dst, base, buf, n, sparseUnit);
                        }
                        pos = end;
                        progress.update(pos, size);
                    }
                }
                progress.done();
                dst.flush();
            }
        }
        return 0;
    }

    static boolean isZero(byte[] b, int off, int n) {
        var bb = ByteBuffer.wrap(b);
        int i = off;
        int end = off + n;
        for (; i + 8 <= end; i += 8) if (bb.getLong(i) != 0) return false;
        for (; i < end; i++) if (b[i] != 0) return false;
        return true;
    }

    /** Writes buf[0, n) at {@code base} but for its all-zero pieces of {@code unit} bytes; runs go out as one write. */
    private static void writeNonZero(BlockDevice dst, long base, byte[] buf, int n, int unit) throws IOException {
        int runStart = -1;
        for (int off = 0; off < n; off += unit) {
            int len = Math.min(unit, n - off);
            boolean zero = isZero(buf, off, len);
            if (!zero && runStart < 0) {
                runStart = off;
            } else if (zero && runStart >= 0) {
                dst.write(base + runStart, ByteBuffer.wrap(buf, runStart, off - runStart));
                runStart = -1;
            }
        }
        if (runStart >= 0) {
            dst.write(base + runStart, ByteBuffer.wrap(buf, runStart, n - runStart));
        }
    }

    /** qemu-img's "    (12.34/100%)" progress line, redrawn in place. */
    static final class Progress {
        private final PrintStream out;
        private final boolean on;
        private double last = -1;

        Progress(PrintStream out, boolean on) {
            this.out = out;
            this.on = on;
            if (on) update(0, 1);
        }

        void update(long done, long total) {
            if (!on) return;
            double pct = total == 0 ? 100 : 100.0 * done / total;
            if (pct - last >= 1 || pct == 100 && last != 100) {
                last = pct;
                out.printf(Locale.ROOT, "    (%.2f/100%%)\r", pct);
                out.flush();
            }
        }

        void done() {
            if (on) {
                update(1, 1);
                out.println();
            }
        }
    }

    // ---------------------------------------------------------------- resize

    int resize(List<String> argv) throws Exception {
        var a = parse(argv, Set.of("-f", "--object", "--preallocation"), Set.of("-q", "--shrink"));
        if (a.pos().size() != 2) throw new UsageException("Expecting image file name and size");
        Path file = Path.of(a.pos().get(0));
        String s = a.pos().get(1);
        try (var dev = BlockImages.open(file, a.get("-f"), Access.writer())) {
            long cur = dev.size();
            long size = s.startsWith("+") ? cur + parseSize(s.substring(1))
                    : s.startsWith("-") ? cur - parseSize(s.substring(1)) : parseSize(s);
            if (size < 0) throw new UsageException("New image size must be positive");
            if (size < cur && !a.has("--shrink")) {
                throw new UsageException("Use the --shrink option to perform a shrink operation.");
            }
            switch (dev) {
                case Qcow2Image q -> q.resize(size);
                case RawFileBlockDevice r -> r.resize(size);
                default -> throw new UsageException("This image does not support resize");
            }
        }
        if (!a.has("-q")) out.println("Image resized.");
        return 0;
    }

    // ---------------------------------------------------------------- commit

    int commit(List<String> argv) throws Exception {
        var a = parse(argv, Set.of("-f", "-t", "-b", "-r"), Set.of("-d", "-p", "-q"));
        Path file = Path.of(oneFile(a, "commit"));
        String baseArg = a.get("-b");
        // the chain shares everything with this process's own writable open of the base below; that open keeps
        // others from writing the base meanwhile
        Access topRole = Access.reader().unsharing(ImageLock.Permission.WRITE, ImageLock.Permission.RESIZE)
                .withChain(Access.reader().sharingAll());
        try (var top = openQcow2(file, topRole)) {
            if (top.backingFileName() == null) throw new UsageException("Image does not have a backing file");
            // the layer the data goes into: the immediate backing file, or -b's, anywhere down the chain
            Layer base = baseArg == null
                    ? new Layer(resolve(file, top.backingFileName()), top.backingFormat(), 1)
                    : findInChain(file, top, baseArg);
            try (var dst = BlockImages.open(base.path(), base.format(), Access.writer())) {
                long size = Math.min(top.size(), dst.size());
                var progress = new Progress(out, a.has("-p"));
                long pos = 0;
                byte[] buf = new byte[1 << 20];
                while (pos < size) {
                    var st = top.blockStatus(pos, size - pos);
                    long end = pos + st.length();
                    // what a layer above the base holds: the top's own clusters and every intermediate image's
                    if (st.depth() < base.depth() && st.present()) {
                        if (st.zero() && !st.data()) {
                            dst.writeZeroes(pos, end - pos);
                        } else {
                            for (long p = pos; p < end; ) {
                                int n = (int) Math.min(buf.length, end - p);
                                top.read(p, ByteBuffer.wrap(buf, 0, n));
                                dst.write(p, ByteBuffer.wrap(buf, 0, n));
                                p += n;
                            }
                        }
                    }
                    pos = end;
                    progress.update(pos, size);
                }
                progress.done();
                dst.flush();
            }
        }
        // as qemu-img: -b implies -d, since the images between the top and the base no longer read correctly
        if (!a.has("-d") && baseArg == null) {
            try (var top = Qcow2Image.open(file, Access.writer())) {
                top.makeEmpty();
            }
        }
        if (!a.has("-q")) out.println("Image committed.");
        return 0;
    }

    /** An image of a backing chain: its file, format (null: probed), and depth below the top (the top is 0). */
    private record Layer(Path path, String format, int depth) { }

    /** The images of an open image's backing chain, top first, with their files as the chain names them. */
    private static List<Layer> chain(Path file, BlockDevice top) {
        var layers = new ArrayList<Layer>();
        Path p = file;
        String format = null;
        BlockDevice d = top;
        for (int depth = 0; d != null; depth++) {
            layers.add(new Layer(p, format, depth));
            if (d instanceof Qcow2Image q && q.backing() != null) {
                p = resolve(p, q.backingFileName());
                format = q.backingFormat();
                d = q.backing();
            } else {
                d = null;
            }
        }
        return layers;
    }

    /** The layer below {@code top} that {@code name} (as given, or relative to the top's directory) is. */
    private static Layer findInChain(Path file, Qcow2Image top, String name) throws UsageException {
        for (Layer l : chain(file, top)) {
            if (l.depth() > 0 && (sameFile(l.path(), Path.of(name)) || sameFile(l.path(), resolve(file, name)))) {
                return l;
            }
        }
        throw new UsageException("Did not find '" + name + "' in the backing chain of '" + file + "'");
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.exists(b) && Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    // ---------------------------------------------------------------- rebase

    int rebase(List<String> argv) throws Exception {
        var a = parse(argv, Set.of("-f", "-b", "-F", "-t", "-T"), Set.of("-u", "-p", "-q", "-U", "--force-share"));
        Path file = Path.of(oneFile(a, "rebase"));
        if (!a.has("-b")) throw new UsageException("Must specify backing file (-b) or use unsafe mode (-u)");
        String nb = a.get("-b");
        String nbFmt = a.get("-F");
        if (nb.isEmpty()) {
            nb = null;
            nbFmt = null;
        } else if (nbFmt == null && !a.has("-u")) {
            nbFmt = BlockImages.probe(resolve(file, nb));
        }
        // -U lets others in on the backing files only: the image itself is written
        Access backingRole = forceShare(a) ? Access.reader().forceShared() : Access.backingFile();
        try (var top = openQcow2(file, Access.writer().withChain(backingRole))) {
            if (!a.has("-u")) {
                BlockDevice newBacking = nb == null ? null : BlockImages.open(resolve(file, nb), nbFmt, backingRole);
                try {
                    var progress = new Progress(out, a.has("-p"));
                    long size = top.size();
                    int step = Math.max(top.clusterSize(), 65536);
                    byte[] oldBuf = new byte[step];
                    byte[] newBuf = new byte[step];
                    long pos = 0;
                    while (pos < size) {
                        var st = top.blockStatus(pos, size - pos);
                        long end = pos + st.length();
                        if (st.depth() > 0 || !st.present()) {
                            for (long p = pos; p < end; ) {
                                int n = (int) Math.min(step - Math.floorMod(p, (long) step), end - p);
                                top.read(p, ByteBuffer.wrap(oldBuf, 0, n));
                                java.util.Arrays.fill(newBuf, 0, n, (byte) 0);
                                if (newBacking != null && p < newBacking.size()) {
                                    int m = (int) Math.min(n, newBacking.size() - p);
                                    newBacking.read(p, ByteBuffer.wrap(newBuf, 0, m));
                                }
                                if (!java.util.Arrays.equals(oldBuf, 0, n, newBuf, 0, n)) {
                                    top.write(p, ByteBuffer.wrap(oldBuf, 0, n));
                                }
                                p += n;
                            }
                        }
                        pos = end;
                        progress.update(pos, size);
                    }
                    progress.done();
                } finally {
                    if (newBacking != null) newBacking.close();
                }
            }
            top.setBackingFile(nb, nbFmt);
        }
        return 0;
    }

    // ---------------------------------------------------------------- map

    int map(List<String> argv) throws Exception {
        var a = parse(argv, Set.of("-f", "--output", "--start-offset", "--max-length"), Set.of("-U", "--force-share"));
        Path file = Path.of(oneFile(a, "map"));
        String output = a.get("--output", "human");
        if (!output.equals("human") && !output.equals("json")) throw new UsageException("--output must be used with human or json as argument.");
        try (var dev = BlockImages.open(file, a.get("-f"), access(a, file, Access.reader()))) {
            var names = new ArrayList<String>();
            for (Layer l : chain(file, dev)) {
                names.add(l.path().toString());
            }
            long size = dev.size();
            long pos = 0;
            var sb = new StringBuilder();
            if (output.equals("json")) sb.append('[');
            else sb.append(String.format("%-16s%-16s%-16s%s%n", "Offset", "Length", "Mapped to", "File"));
            BlockStatus cur = null;
            boolean firstOut = true;
            while (pos < size) {
                var st = BlockStatus.of(dev, pos, size - pos);
                if (st.length() <= 0) break;
                if (cur != null && mergeable(cur, st)) {
                    cur = new BlockStatus(cur.offset(), cur.length() + st.length(), cur.depth(), cur.present(), cur.zero(),
                            cur.data(), cur.hostOffset());
                } else {
                    if (cur != null) firstOut = emit(sb, cur, output, firstOut, names);
                    cur = st;
                }
                pos += st.length();
            }
            if (cur != null) emit(sb, cur, output, firstOut, names);
            if (output.equals("json")) sb.append("]\n");
            out.print(sb);
        }
        return 0;
    }

    static boolean mergeable(BlockStatus a, BlockStatus b) {
        return a.depth() == b.depth() && a.present() == b.present() && a.zero() == b.zero() && a.data() == b.data()
                && (a.hostOffset() < 0) == (b.hostOffset() < 0)
                && (a.hostOffset() < 0 || a.hostOffset() + a.length() == b.hostOffset());
    }

    static boolean emit(StringBuilder sb, BlockStatus s, String output, boolean first, List<String> names) {
        if (output.equals("json")) {
            if (!first) sb.append(",\n");
            sb.append("{ \"start\": ").append(s.offset()).append(", \"length\": ").append(s.length())
                    .append(", \"depth\": ").append(s.depth()).append(", \"present\": ").append(s.present())
                    .append(", \"zero\": ").append(s.zero()).append(", \"data\": ").append(s.data());
            if (s.hostOffset() >= 0) sb.append(", \"offset\": ").append(s.hostOffset());
            sb.append('}');
            return false;
        }
        if (s.data() && s.hostOffset() >= 0) {
            sb.append(String.format("%-16s%-16s%-16s%s%n", hex(s.offset()), hex(s.length()), hex(s.hostOffset()),
                    names.get(Math.min(s.depth(), names.size() - 1))));
        }
        return false;
    }

    static String hex(long v) {
        return v == 0 ? "0" : "0x" + Long.toHexString(v);
    }

    // ---------------------------------------------------------------- bench

    int bench(List<String> argv) throws Exception {
        var a = parse(argv, Set.of("-c", "-d", "-f", "-o", "-s", "-S", "-t", "-i", "--pattern", "--flush-interval"),
                Set.of("-n", "-q", "-w", "-U", "--force-share", "--no-drain"));
        Path file = Path.of(oneFile(a, "bench"));
        long count = Long.parseLong(a.get("-c", "75000"));
        int depth = Integer.parseInt(a.get("-d", "64"));
        int bufSize = (int) parseSize(a.get("-s", "4096"));
        long step = a.has("-S") ? parseSize(a.get("-S")) : bufSize;
        long start = a.has("-o") ? parseSize(a.get("-o")) : 0;
        boolean write = a.has("-w");
        byte pattern = (byte) Integer.parseInt(a.get("--pattern", "0"));
        long flushInterval = Long.parseLong(a.get("--flush-interval", "0"));
        try (var dev = BlockImages.open(file, a.get("-f"), access(a, file, write ? Access.writer() : Access.reader()))) {
            long size = dev.size();
            if (size < bufSize) throw new UsageException("Image is smaller than the request size");
            if (!a.has("-q")) {
                out.printf("Sending %d %s requests, %d bytes each, %d in parallel (starting at offset %d, step size %d)%n",
                        count, write ? "write" : "read", bufSize, depth, start, step);
            }
            int threads = Math.max(1, Math.min(depth, 8));
            var next = new java.util.concurrent.atomic.AtomicLong();
            var failure = new java.util.concurrent.atomic.AtomicReference<Throwable>();
            long t0 = System.nanoTime();
            var pool = new ArrayList<Thread>();
            for (int t = 0; t < threads; t++) {
                pool.add(Thread.ofPlatform().name("bench-" + t).start(() -> {
                    var buf = ByteBuffer.allocateDirect(bufSize);
                    if (write) {
                        while (buf.hasRemaining()) buf.put(pattern);
                    }
                    try {
                        long i;
                        while ((i = next.getAndIncrement()) < count && failure.get() == null) {
                            long off = Math.floorMod(start + i * step, size);
                            if (off + bufSize > size) off = 0;
                            buf.clear();
                            if (write) {
                                dev.write(off, buf);
                                if (flushInterval > 0 && (count - i) % flushInterval == 0) dev.flush();
                            } else {
                                dev.read(off, buf);
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            for (var t : pool) t.join();
            if (failure.get() != null) throw new IOException("request failed: " + failure.get().getMessage(), failure.get());
            if (write) dev.flush();
            double secs = (System.nanoTime() - t0) / 1e9;
            out.printf(Locale.ROOT, "Run completed in %.3f seconds.%n", secs);
        }
        return 0;
    }
}
