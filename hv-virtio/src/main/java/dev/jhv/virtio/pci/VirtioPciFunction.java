package dev.jhv.virtio.pci;

import dev.jhv.core.bus.BusHandler;
import dev.jhv.core.device.Stateful;
import dev.jhv.core.kvm.IoEventFd;
import dev.jhv.core.memory.GuestMemory;
import dev.jhv.core.vmstate.RecordDescription;
import dev.jhv.core.vmstate.ScalarType;
import dev.jhv.devices.pci.MsixCapability;
import dev.jhv.devices.pci.PciBar;
import dev.jhv.devices.pci.PciConfigSpace;
import dev.jhv.devices.pci.PciDeviceState;
import dev.jhv.devices.pci.PciFunction;
import dev.jhv.devices.pci.PciIdentity;
import dev.jhv.virtio.device.VirtioContext;
import dev.jhv.virtio.device.VirtioDevice;
import dev.jhv.virtio.device.VirtioFeatures;
import dev.jhv.virtio.queue.Virtqueue;

import java.util.Arrays;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The virtio-pci transport (virtio 1.2, 4.1) for one {@link VirtioDevice}, as QEMU's default on a PCI bus: a
 * transitional device (device ID 0x1000-range, subsystem ID the virtio type, revision 0) with the legacy register
 * block in I/O BAR0, the MSI-X table and PBA in BAR1, and the modern regions in the 64-bit prefetchable BAR4
 * (common configuration at 0, ISR at 0x1000, device configuration at 0x2000, notifications at 0x3000 with a
 * multiplier of 4), each named by a vendor capability, plus the PCI configuration access capability.
 *
 * <p>The transport owns the status, the feature negotiation, the queues' registers and the interrupts; the device
 * runs on its own I/O thread ({@link IoThread}), woken by the queues' ioeventfds (or by a write that exits when
 * there are none). Interrupts leave through MSI-X irqfds, or INTx with the ISR when MSI-X is off.
 *
 * <p>Locks: {@code regs} guards the transport registers and may wait for the I/O thread (reset); the I/O thread
 * never takes it. The function's monitor (configuration writes, INTx) is taken inside {@code regs}; the one path
 * the other way round is the PCI configuration access capability (a register reached through configuration
 * space), which never waits for the I/O thread. Two vCPUs racing a reset through BAR0 against that path could
 * still meet; only firmware uses the capability, on one CPU.
 */
public final class VirtioPciFunction<S extends Record> extends PciFunction implements Stateful<VirtioPciFunction.State> {
    private static final System.Logger LOG = System.getLogger(VirtioPciFunction.class.getName());

    public static final int VENDOR = 0x1af4;
    /** Device status bits (2.1). */
    static final int ACKNOWLEDGE = 1;
    static final int DRIVER = 2;
    static final int DRIVER_OK = 4;
    static final int FEATURES_OK = 8;
    static final int DEVICE_NEEDS_RESET = 0x40;
    static final int FAILED = 0x80;
    /** ISR bits (4.1.4.5). */
    static final int ISR_QUEUE = 1;
    static final int ISR_CONFIG = 2;

    /** BAR layout, as QEMU's. */
    static final int LEGACY_BAR = 0;
    static final int MSIX_BAR = 1;
    static final int MODERN_BAR = 4;
    static final long MODERN_BAR_SIZE = 0x4000;
    static final long MSIX_BAR_SIZE = 0x1000;
    static final long MSIX_PBA_OFFSET = 0x800;
    static final int COMMON_OFFSET = 0;
    static final int ISR_OFFSET = 0x1000;
    static final int DEVICE_OFFSET = 0x2000;
    static final int NOTIFY_OFFSET = 0x3000;
    static final int REGION_SIZE = 0x1000;
    static final int NOTIFY_MULTIPLIER = 4;
    /** virtio_pci_cap cfg_type (4.1.4). */
    static final int CAP_COMMON = 1;
    static final int CAP_NOTIFY = 2;
    static final int CAP_ISR = 3;
    static final int CAP_DEVICE = 4;
    static final int CAP_PCI_CFG = 5;
    static final int CAP_VENDOR = 0x09;

    /** Legacy register offsets (4.1.4.8). */
    static final int L_HOST_FEATURES = 0;
    static final int L_GUEST_FEATURES = 4;
    static final int L_QUEUE_PFN = 8;
    static final int L_QUEUE_NUM = 12;
    static final int L_QUEUE_SEL = 14;
    static final int L_QUEUE_NOTIFY = 16;
    static final int L_STATUS = 18;
    static final int L_ISR = 19;
    static final int L_CONFIG_VECTOR = 20;
    static final int L_QUEUE_VECTOR = 22;
    static final int LEGACY_HEADER = 20;
    static final int LEGACY_MSIX_HEADER = 24;
    static final int LEGACY_ALIGN = 4096;

    /** Common configuration offsets (4.1.4.3). */
    static final int C_DFSELECT = 0;
    static final int C_DF = 4;
    static final int C_GFSELECT = 8;
    static final int C_GF = 12;
    static final int C_MSIX = 16;
    static final int C_NUMQ = 18;
    static final int C_STATUS = 20;
    static final int C_CFGGEN = 21;
    static final int C_Q_SELECT = 22;
    static final int C_Q_SIZE = 24;
    static final int C_Q_MSIX = 26;
    static final int C_Q_ENABLE = 28;
    static final int C_Q_NOFF = 30;
    static final int C_Q_DESCLO = 32;
    static final int C_Q_DESCHI = 36;
    static final int C_Q_AVAILLO = 40;
    static final int C_Q_AVAILHI = 44;
    static final int C_Q_USEDLO = 48;
    static final int C_Q_USEDHI = 52;

    /** The features the transport and its split rings offer on top of the device's. */
    static final long TRANSPORT_FEATURES = VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX
            | VirtioFeatures.INDIRECT_DESC;

    /** The transport's own registers in a migration. */
    public record Common(int status, int isr, long guestFeatures, int deviceFeatureSelect, int driverFeatureSelect,
                         int queueSelect, int configGeneration, int configVector,
                         int[] queueSize, int[] queueEnabled, long[] queueDesc, long[] queueAvail, long[] queueUsed,
                         int[] queueVector, int[] lastAvailIdx, int[] usedIdx, int[] signalledUsedValid,
                         int[] signalledUsed) { }

    /** The device's section: PCI configuration space, the transport, the MSI-X table and the device's own state. */
    public record State(PciDeviceState pci, Common common, MsixCapability.State msix, Record device) { }

    private static final RecordDescription<Common> COMMON = RecordDescription.part(Common.class, "virtio", 1)
            .u8("status").u8("isr").u64("guest_features").u32("device_feature_select")
            .u32("driver_feature_select").u16("queue_sel", "queueSelect").u8("config_generation").u16("config_vector")
            .lengthOf("num_queues", ScalarType.U16, "queueSize")
            .intVarArray("queue_size", ScalarType.U16, "num_queues", Virtqueue.MAX_QUEUE_SIZE, "queueSize")
            .intVarArray("queue_enabled", ScalarType.U8, "num_queues", Virtqueue.MAX_QUEUE_SIZE, "queueEnabled")
            .longVarArray("queue_desc", ScalarType.U64, "num_queues", Virtqueue.MAX_QUEUE_SIZE, "queueDesc")
            .longVarArray("queue_avail", ScalarType.U64, "num_queues", Virtqueue.MAX_QUEUE_SIZE, "queueAvail")
            .longVarArray("queue_used", ScalarType.U64, "num_queues", Virtqueue.MAX_QUEUE_SIZE, "queueUsed")
            .intVarArray("queue_vector", ScalarType.U16, "num_queues", Virtqueue.MAX_QUEUE_SIZE, "queueVector")
            .intVarArray("last_avail_idx", ScalarType.U16, "num_queues", Virtqueue.MAX_QUEUE_SIZE, "lastAvailIdx")
            .intVarArray("used_idx", ScalarType.U16, "num_queues", Virtqueue.MAX_QUEUE_SIZE, "usedIdx")
            .intVarArray("signalled_used_valid", ScalarType.U8, "num_queues", Virtqueue.MAX_QUEUE_SIZE,
                    "signalledUsedValid")
            .intVarArray("signalled_used", ScalarType.U16, "num_queues", Virtqueue.MAX_QUEUE_SIZE, "signalledUsed")
            .build();

    private final VirtioDevice<S> device;
    private final int instance;
    private final GuestMemory memory;
    private final Doorbells doorbells;
    private final MsixCapability msix;
    private final Virtqueue[] queues;
    private final IoThread io;
    private final RecordDescription<State> vmstate;
    private final long offered;
    private final PciBar legacyBar;
    private final PciBar modernBar;
    private final int pciCfgCap;

    private final Object regs = new Object();
    // ---- registers (guarded by regs; status and isr also read by the I/O thread) ----
    private final AtomicInteger status = new AtomicInteger();
    private final AtomicInteger isr = new AtomicInteger();
    private volatile long guestFeatures;
    private int deviceFeatureSelect;
    private int driverFeatureSelect;
    private int queueSelect;
    private volatile int configGeneration;
    private volatile int configVector = MsixCapability.NO_VECTOR;
    private final int[] queueSize;
    private final boolean[] queueEnabled;
    private final long[] queueDesc;
    private final long[] queueAvail;
    private final long[] queueUsed;
    private final int[] queueVector;
    /** Whether the device was activated (DRIVER_OK seen since the last reset). */
    private volatile boolean active;
    private volatile boolean resetLogged;

    /**
     * @param instance  the device's number among its kind (for its I/O thread's name)
     * @param doorbells where queue notifications are registered as ioeventfds, or {@link Doorbells#NONE}
     * @param routes    where MSI-X vectors go
     */
    public VirtioPciFunction(VirtioDevice<S> device, int instance, GuestMemory memory, Doorbells doorbells,
                             MsixCapability.Routes routes) {
        super(device.name(), identity(device.deviceType()), 0, 1);
        this.device = device;
        this.instance = instance;
        this.memory = memory;
        this.doorbells = doorbells;
        int n = device.queueCount();
        queues = new Virtqueue[n];
        for (int q = 0; q < n; q++) {
            queues[q] = new Virtqueue(q, device.queueMaxSize(q));
        }
        queueSize = new int[n];
        queueEnabled = new boolean[n];
        queueDesc = new long[n];
        queueAvail = new long[n];
        queueUsed = new long[n];
        queueVector = new int[n];
        offered = device.deviceFeatures() | TRANSPORT_FEATURES;

        // BAR0: legacy registers and device configuration; BAR1: MSI-X; BAR4: modern regions (QEMU's order)
        long legacySize = Math.max(4, Integer.highestOneBit(LEGACY_MSIX_HEADER + device.configLength() - 1) << 1);
        if (legacySize > 256) {
            throw new IllegalArgumentException(device.name() + ": a configuration space of "
                    + device.configLength() + " bytes does not fit the legacy I/O BAR");
        }
        legacyBar = ioBar(LEGACY_BAR, (int) legacySize, new LegacyRegisters());
        modernBar = memory64Bar(MODERN_BAR, MODERN_BAR_SIZE, true, new ModernRegisters());
        // the capabilities at QEMU's offsets: common 0x40, ISR 0x50, device 0x60, notify 0x70, PCI cfg 0x84,
        // MSI-X 0x98 (one vector per queue and one for configuration changes)
        pciCfgCap = addVirtioCapabilities();
        msix = new MsixCapability(config, n + 1, MSIX_BAR, 0, MSIX_PBA_OFFSET, routes);
        memoryBar(MSIX_BAR, MSIX_BAR_SIZE, false, msix);
        vmstate = describe(device.name(), msix, device.stateDescription());
        io = new IoThread(device.name() + "-" + instance + "-io", this);
        resetRegisters();
    }

    private static PciIdentity identity(int type) {
        int id = switch (type) {
            case 1 -> 0x1000;   // network
            case 2 -> 0x1001;   // block
            case 5 -> 0x1002;   // memory balloon
            case 3 -> 0x1003;   // console
            case 8 -> 0x1004;   // SCSI host
            case 4 -> 0x1005;   // entropy source
            case 9 -> 0x1009;   // 9P transport
            default -> 0x1040 + type; // modern-only ID (4.1.2.1)
        };
        int classCode = switch (type) {
            case 1 -> 0x0200;   // Ethernet controller
            case 2 -> 0x0100;   // SCSI storage controller, as QEMU's virtio-blk
            case 3 -> 0x0780;   // communication controller
            default -> 0x00ff;  // unclassified (QEMU's "Class 0255")
        };
        return new PciIdentity(VENDOR, id, 0, classCode, 0, VENDOR, type);
    }

    private int addVirtioCapabilities() {
        vendorCapability(CAP_COMMON, COMMON_OFFSET, REGION_SIZE, 16);
        vendorCapability(CAP_ISR, ISR_OFFSET, REGION_SIZE, 16);
        vendorCapability(CAP_DEVICE, DEVICE_OFFSET, REGION_SIZE, 16);
        int notify = vendorCapability(CAP_NOTIFY, NOTIFY_OFFSET, REGION_SIZE, 20);
        config.set32(notify + 16, NOTIFY_MULTIPLIER);
        int cfg = vendorCapability(CAP_PCI_CFG, 0, 0, 20);
        // the driver picks bar, offset and length, then reads or writes pci_cfg_data (4.1.4.9)
        config.setWriteMask(cfg + 4, 1, 0xff);
        config.setStored(cfg + 8, 12);
        return cfg;
    }

    private int vendorCapability(int type, int offset, int length, int capLength) {
        int at = config.addCapability(CAP_VENDOR, capLength);
        config.set8(at + 2, capLength);
        config.set8(at + 3, type);
        config.set8(at + 4, type == CAP_PCI_CFG ? 0 : MODERN_BAR);
        config.set32(at + 8, offset);
        config.set32(at + 12, length);
        return at;
    }

    public VirtioDevice<S> device() {
        return device;
    }

    /** The I/O thread's name ("virtio-rng-0-io"). */
    public String ioThreadName() {
        return io.name();
    }

    long offeredFeatures() {
        return offered;
    }

    Virtqueue queue(int q) {
        return queues[q];
    }

    int status() {
        return status.get();
    }

    int isr() {
        return isr.get();
    }

    long guestFeatures() {
        return guestFeatures;
    }

    /** The capability offset of the PCI configuration access capability. */
    int pciCfgCapability() {
        return pciCfgCap;
    }

    MsixCapability msix() {
        return msix;
    }

    // ---- the I/O thread's side ----

    /** A queue's doorbell rang (ioeventfd or an exiting write): runs on the I/O thread. */
    void notified(int q) {
        if (q < 0 || q >= queues.length || !active || (status.get() & DEVICE_NEEDS_RESET) != 0) {
            return;
        }
        try {
            device.queueNotified(q);
        } catch (RuntimeException e) {
            context.needsReset("queue " + q + ": " + e);
        }
    }

    /** On resume and after a restore: a notification may have been missed, so every queue looks again. */
    void notifyEnabledQueues() {
        for (int q = 0; q < queues.length; q++) {
            if (queueEnabled[q]) {
                notified(q);
            }
        }
    }

    private final VirtioContext context = new VirtioContext() {
        @Override
        public GuestMemory memory() {
            return memory;
        }

        @Override
        public Virtqueue queue(int q) {
            return queues[q];
        }

        @Override
        public long features() {
            return guestFeatures;
        }

        @Override
        public void usedBuffers(int q) {
            if (queues[q].needsInterrupt(memory)) {
                interrupt(queueVector[q], ISR_QUEUE);
            }
        }

        @Override
        public void configChanged() {
            configGeneration = (configGeneration + 1) & 0xff;
            interrupt(configVector, ISR_CONFIG);
        }

        @Override
        public void needsReset(String reason) {
            int before = status.getAndUpdate(s -> s | DEVICE_NEEDS_RESET);
            if (!resetLogged) {
                resetLogged = true;
                LOG.log(System.Logger.Level.WARNING, name() + ": the driver broke the rules, device needs a reset: "
                        + reason);
            }
            if ((before & DEVICE_NEEDS_RESET) == 0 && (before & DRIVER_OK) != 0) {
                configChanged();
            }
        }

        @Override
        public void execute(Runnable task) {
            io.execute(task);
        }
    };

    /** Raises {@code vector} through MSI-X, or the ISR bit and INTx while MSI-X is off. */
    private void interrupt(int vector, int isrBit) {
        if (msix.enabled()) {
            msix.notify(vector);
        } else {
            isr.getAndUpdate(v -> v | isrBit);
            setIntx(true);
        }
    }

    // ---- registers ----

    private long deviceFeatures32(int select) {
        return select == 0 ? offered & 0xffffffffL : select == 1 ? offered >>> 32 : 0;
    }

    private int readStatus() {
        return status.get();
    }

    private void writeStatus(int value) {
        value &= 0xff;
        if (value == 0) {
            deviceReset();
            return;
        }
        int old = status.get();
        if ((value & FEATURES_OK) != 0 && (old & FEATURES_OK) == 0) {
            long extra = guestFeatures & ~offered;
            if (extra != 0) {
                LOG.log(System.Logger.Level.INFO, String.format("%s: driver accepted features 0x%x that were not "
                        + "offered: FEATURES_OK refused", name(), extra));
                value &= ~FEATURES_OK;
            }
        }
        value |= old & DEVICE_NEEDS_RESET;
        status.set(value);
        if ((value & DRIVER_OK) != 0 && !active) {
            activate();
        }
    }

    private void activate() {
        long features = guestFeatures;
        boolean legacy = !VirtioFeatures.has(features, VirtioFeatures.VERSION_1);
        if (!legacy && (status.get() & FEATURES_OK) == 0) {
            context.needsReset("DRIVER_OK without FEATURES_OK");
            return;
        }
        for (int q = 0; q < queues.length; q++) {
            queues[q].setFeatures(VirtioFeatures.has(features, VirtioFeatures.EVENT_IDX),
                    VirtioFeatures.has(features, VirtioFeatures.INDIRECT_DESC));
        }
        active = true;
        onIoThread(() -> {
            device.activate(context, features);
            notifyEnabledQueues();
        });
    }

    private void deviceReset() {
        active = false;
        onIoThread(device::reset);
        resetRegisters();
        // not the MSI-X table: it belongs to the PCI function, which a virtio reset leaves alone (a driver programs
        // its vectors once, and resets the device after that, as Linux's probe and testos's irq=msix do)
        setIntx(false);
    }

    /**
     * Runs {@code task} on the I/O thread and waits for it, so that the device is done with the rings when the
     * driver's register write completes (a reset: the driver may free them next). Through the PCI configuration
     * access capability the write comes with the function's lock held, which the I/O thread may need (INTx): then
     * the task is only handed over, and the device sees the reset a moment later ({@code active} is already off).
     */
    private void onIoThread(Runnable task) {
        if (Thread.holdsLock(this)) {
            io.execute(task);
        } else {
            io.runAndWait(task);
        }
    }

    private void resetRegisters() {
        status.set(0);
        isr.set(0);
        guestFeatures = 0;
        deviceFeatureSelect = 0;
        driverFeatureSelect = 0;
        queueSelect = 0;
        configVector = MsixCapability.NO_VECTOR;
        resetLogged = false;
        active = false;
        for (int q = 0; q < queues.length; q++) {
            queues[q].reset();
            queueSize[q] = queues[q].maxSize();
            queueEnabled[q] = false;
            queueDesc[q] = 0;
            queueAvail[q] = 0;
            queueUsed[q] = 0;
            queueVector[q] = MsixCapability.NO_VECTOR;
        }
    }

    private int readIsr() {
        int v = isr.getAndSet(0);
        setIntx(false);
        return v;
    }

    private int vectorOrNone(int v) {
        return v < msix.vectors() ? v : MsixCapability.NO_VECTOR; // 4.1.5.1.2: an unusable vector reads NO_VECTOR
    }

    private boolean queueSelected() {
        return queueSelect < queues.length;
    }

    private void enableQueue(int q) {
        Virtqueue vq = queues[q];
        if (!vq.validSize(queueSize[q])) {
            context.needsReset("queue " + q + " size " + queueSize[q] + " is not a power of two up to "
                    + vq.maxSize());
            return;
        }
        vq.configure(queueSize[q], queueDesc[q], queueAvail[q], queueUsed[q], true);
        queueEnabled[q] = true;
    }

    long readCommon(int offset, int size) {
        synchronized (regs) {
            int q = queueSelect;
            boolean sel = queueSelected();
            return switch (offset) {
                case C_DFSELECT -> deviceFeatureSelect;
                case C_DF -> deviceFeatures32(deviceFeatureSelect);
                case C_GFSELECT -> driverFeatureSelect;
                case C_GF -> driverFeatureSelect == 0 ? guestFeatures & 0xffffffffL
                        : driverFeatureSelect == 1 ? guestFeatures >>> 32 : 0;
                case C_MSIX -> configVector;
                case C_NUMQ -> queues.length;
                case C_STATUS -> readStatus();
                case C_CFGGEN -> configGeneration;
                case C_Q_SELECT -> queueSelect;
                case C_Q_SIZE -> sel ? queueSize[q] : 0;
                case C_Q_MSIX -> sel ? queueVector[q] : MsixCapability.NO_VECTOR;
                case C_Q_ENABLE -> sel && queueEnabled[q] ? 1 : 0;
                case C_Q_NOFF -> sel ? q : 0;
                case C_Q_DESCLO -> sel ? queueDesc[q] & 0xffffffffL : 0;
                case C_Q_DESCHI -> sel ? queueDesc[q] >>> 32 : 0;
                case C_Q_AVAILLO -> sel ? queueAvail[q] & 0xffffffffL : 0;
                case C_Q_AVAILHI -> sel ? queueAvail[q] >>> 32 : 0;
                case C_Q_USEDLO -> sel ? queueUsed[q] & 0xffffffffL : 0;
                case C_Q_USEDHI -> sel ? queueUsed[q] >>> 32 : 0;
                default -> 0;
            };
        }
    }

    void writeCommon(int offset, int size, long value) {
        synchronized (regs) {
            int v = (int) value;
            int q = queueSelect;
            boolean sel = queueSelected();
            switch (offset) {
                case C_DFSELECT -> deviceFeatureSelect = v;
                case C_GFSELECT -> driverFeatureSelect = v;
                case C_GF -> {
                    if ((status.get() & FEATURES_OK) == 0) {
                        long w = Integer.toUnsignedLong(v);
                        if (driverFeatureSelect == 0) {
                            guestFeatures = (guestFeatures & ~0xffffffffL) | w;
                        } else if (driverFeatureSelect == 1) {
                            guestFeatures = (guestFeatures & 0xffffffffL) | (w << 32);
                        }
                    }
                }
                case C_MSIX -> configVector = vectorOrNone(v & 0xffff);
                case C_STATUS -> writeStatus(v);
                case C_Q_SELECT -> queueSelect = v & 0xffff;
                case C_Q_SIZE -> {
                    if (sel && !queueEnabled[q]) {
                        queueSize[q] = v & 0xffff;
                    }
                }
                case C_Q_MSIX -> {
                    if (sel) {
                        queueVector[q] = vectorOrNone(v & 0xffff);
                    }
                }
                case C_Q_ENABLE -> {
                    if (sel && (v & 1) == 1 && !queueEnabled[q]) {
                        enableQueue(q);
                    }
                }
                case C_Q_DESCLO -> setLow(queueDesc, q, sel, v);
                case C_Q_DESCHI -> setHigh(queueDesc, q, sel, v);
                case C_Q_AVAILLO -> setLow(queueAvail, q, sel, v);
                case C_Q_AVAILHI -> setHigh(queueAvail, q, sel, v);
                case C_Q_USEDLO -> setLow(queueUsed, q, sel, v);
                case C_Q_USEDHI -> setHigh(queueUsed, q, sel, v);
                default -> { } // read-only or reserved
            }
        }
    }

    private void setLow(long[] reg, int q, boolean sel, int v) {
        if (sel && !queueEnabled[q]) {
            reg[q] = (reg[q] & ~0xffffffffL) | Integer.toUnsignedLong(v);
        }
    }

    private void setHigh(long[] reg, int q, boolean sel, int v) {
        if (sel && !queueEnabled[q]) {
            reg[q] = (reg[q] & 0xffffffffL) | (Integer.toUnsignedLong(v) << 32);
        }
    }

    /** A notification that exited (no ioeventfd, or a write of another width): handed to the I/O thread. */
    void doorbell(int q) {
        if (q >= 0 && q < queues.length) {
            io.ring(q);
        }
    }

    long readLegacy(int offset, int size) {
        synchronized (regs) {
            int header = msix.enabled() ? LEGACY_MSIX_HEADER : LEGACY_HEADER;
            if (offset >= header) {
                int at = offset - header;
                return at + size <= device.configLength() ? device.readConfig(at, size) : 0;
            }
            int q = queueSelect;
            boolean sel = queueSelected();
            long v = switch (offset) {
                case L_HOST_FEATURES -> offered & 0xffffffffL & ~VirtioFeatures.VERSION_1;
                case L_GUEST_FEATURES -> guestFeatures & 0xffffffffL;
                case L_QUEUE_PFN -> sel ? queueDesc[q] / LEGACY_ALIGN : 0;
                case L_QUEUE_NUM -> sel ? queueSize[q] : 0;
                case L_QUEUE_SEL -> queueSelect;
                case L_STATUS -> readStatus();
                case L_ISR -> readIsr();
                case L_CONFIG_VECTOR -> configVector;
                case L_QUEUE_VECTOR -> sel ? queueVector[q] : MsixCapability.NO_VECTOR;
                default -> 0;
            };
            return v;
        }
    }

    void writeLegacy(int offset, int size, long value) {
        synchronized (regs) {
            int header = msix.enabled() ? LEGACY_MSIX_HEADER : LEGACY_HEADER;
            if (offset >= header) {
                int at = offset - header;
                if (at + size <= device.configLength()) {
                    device.writeConfig(at, size, (int) value);
                }
                return;
            }
            int v = (int) value;
            int q = queueSelect;
            boolean sel = queueSelected();
            switch (offset) {
                case L_GUEST_FEATURES -> guestFeatures = Integer.toUnsignedLong(v) & offered
                        & ~VirtioFeatures.VERSION_1;
                case L_QUEUE_PFN -> {
                    if (v == 0) {
                        deviceReset(); // a legacy driver resets by writing 0 to the queue address
                    } else if (sel) {
                        legacyQueue(q, Integer.toUnsignedLong(v) * LEGACY_ALIGN);
                    }
                }
                case L_QUEUE_SEL -> queueSelect = v & 0xffff;
                case L_QUEUE_NOTIFY -> doorbell(v & 0xffff);
                case L_STATUS -> writeStatus(v);
                case L_CONFIG_VECTOR -> configVector = vectorOrNone(v & 0xffff);
                case L_QUEUE_VECTOR -> {
                    if (sel) {
                        queueVector[q] = vectorOrNone(v & 0xffff);
                    }
                }
                default -> { }
            }
        }
    }

    /** The legacy ring layout (2.7.2 "Legacy Interfaces"): used ring at the next 4096 boundary after avail. */
    private void legacyQueue(int q, long desc) {
        int n = queueSize[q];
        queueDesc[q] = desc;
        queueAvail[q] = desc + 16L * n;
        queueUsed[q] = (queueAvail[q] + 6 + 2L * n + LEGACY_ALIGN - 1) & -(long) LEGACY_ALIGN;
        enableQueue(q);
    }

    private final class LegacyRegisters implements BusHandler {
        @Override
        public long read(long offset, int size) {
            return readLegacy((int) offset, size);
        }

        @Override
        public void write(long offset, int size, long value) {
            writeLegacy((int) offset, size, value);
        }
    }

    private final class ModernRegisters implements BusHandler {
        @Override
        public long read(long offset, int size) {
            int region = (int) (offset / REGION_SIZE) * REGION_SIZE;
            int at = (int) (offset - region);
            return switch (region) {
                case COMMON_OFFSET -> readCommon(at, size);
                case ISR_OFFSET -> at == 0 ? readIsr() : 0;
                case DEVICE_OFFSET -> at + size <= device.configLength() ? device.readConfig(at, size) : 0;
                default -> 0;
            };
        }

        @Override
        public void write(long offset, int size, long value) {
            int region = (int) (offset / REGION_SIZE) * REGION_SIZE;
            int at = (int) (offset - region);
            switch (region) {
                case COMMON_OFFSET -> writeCommon(at, size, value);
                case DEVICE_OFFSET -> {
                    if (at + size <= device.configLength()) {
                        device.writeConfig(at, size, (int) value);
                    }
                }
                case NOTIFY_OFFSET -> {
                    if (at % NOTIFY_MULTIPLIER == 0) {
                        doorbell(at / NOTIFY_MULTIPLIER);
                    }
                }
                default -> { }
            }
        }
    }

    // ---- configuration space hooks: MSI-X control, the PCI cfg window, doorbells following the BARs ----

    @Override
    protected void configWritten(int reg, int size) {
        msix.configWritten(reg, size);
        if (reg >= pciCfgCap + 16 && reg < pciCfgCap + 20) {
            pciCfgAccess(true);
        }
        placeDoorbells();
    }

    @Override
    protected void configRestored() {
        msix.configRestored();
        placeDoorbells();
    }

    /**
     * The PCI configuration access capability (4.1.4.9): a write of pci_cfg_data goes to the BAR at the chosen
     * offset; a read is served when the driver reads the data field (see {@link #configReading}).
     */
    private void pciCfgAccess(boolean write) {
        int bar = config.get8(pciCfgCap + 4);
        int offset = config.get32(pciCfgCap + 8);
        int length = config.get32(pciCfgCap + 12);
        if (length != 1 && length != 2 && length != 4 || offset < 0) {
            return;
        }
        BusHandler h = bar == MODERN_BAR ? new ModernRegisters() : bar == LEGACY_BAR ? new LegacyRegisters() : null;
        long limit = bar == MODERN_BAR ? MODERN_BAR_SIZE : legacyBar.size();
        if (h == null || offset + (long) length > limit || offset % length != 0) {
            return;
        }
        if (write) {
            h.write(offset, length, config.get32(pciCfgCap + 16) & (length == 4 ? -1 : (1 << (8 * length)) - 1));
        } else {
            config.set32(pciCfgCap + 16, (int) h.read(offset, length));
        }
    }

    /** Refreshes pci_cfg_data before the driver reads it. */
    @Override
    protected void configReading(int reg, int size) {
        if (reg >= pciCfgCap + 16 && reg < pciCfgCap + 20) {
            pciCfgAccess(false);
        }
    }

    private final Object doorbellLock = new Object();
    private long doorbellModern = -1;
    private long doorbellLegacy = -1;

    /** Registers the queues' ioeventfds where BAR4's notify region and BAR0's notify register now decode. */
    private void placeDoorbells() {
        if (doorbells == Doorbells.NONE) {
            return;
        }
        synchronized (doorbellLock) {
            long modern = modernBar.mappedAddress();
            long legacy = legacyBar.mappedAddress();
            if (modern != doorbellModern) {
                io.replaceDoorbells(false, modern < 0 ? null : q -> doorbells.register(IoEventFd.Space.MMIO,
                        modern + NOTIFY_OFFSET + (long) q * NOTIFY_MULTIPLIER, 2, OptionalLong.empty()), queues.length);
                doorbellModern = modern;
            }
            if (legacy != doorbellLegacy) {
                io.replaceDoorbells(true, legacy < 0 ? null : q -> doorbells.register(IoEventFd.Space.PIO,
                        legacy + L_QUEUE_NOTIFY, 2, OptionalLong.of(q)), queues.length);
                doorbellLegacy = legacy;
            }
        }
    }

    // ---- lifecycle ----

    @Override
    public void reset() {
        synchronized (regs) {
            io.runAndWait(() -> {
                active = false;
                device.reset();
            });
            resetRegisters();
            msix.resetTable();
            super.reset();
        }
    }

    @Override
    public void pause() {
        device.pause();
        io.pause();
    }

    @Override
    public void resume() {
        device.resume();
        io.resume();
    }

    @Override
    public void close() {
        io.close();
        device.close();
        msix.close();
    }

    // ---- state ----

    @Override
    public RecordDescription<State> vmstate() {
        return vmstate;
    }

    /** Built per instance: the MSI-X table's size and the device's record depend on the device. */
    private static RecordDescription<State> describe(String name, MsixCapability msix,
                                                     RecordDescription<? extends Record> device) {
        var table = RecordDescription.part(MsixCapability.State.class, "msix", 1)
                .buffer("table", msix.tableBytes()).buffer("pba", msix.pbaBytes()).build();
        return RecordDescription.builder(State.class, name, 1)
                .struct("parent_obj", PciDeviceState.VMSTATE, "pci")
                .struct("virtio", COMMON, "common")
                .struct("msix", table, "msix")
                .struct("device", device, "device")
                .build();
    }

    @Override
    public State state() {
        synchronized (regs) {
            int n = queues.length;
            int[] last = new int[n];
            int[] used = new int[n];
            int[] sv = new int[n];
            int[] su = new int[n];
            int[] en = new int[n];
            for (int q = 0; q < n; q++) {
                Virtqueue.State s = queues[q].state();
                last[q] = s.lastAvailIdx();
                used[q] = s.usedIdx();
                sv[q] = s.signalledUsedValid() ? 1 : 0;
                su[q] = s.signalledUsed();
                en[q] = queueEnabled[q] ? 1 : 0;
            }
            var common = new Common(status.get(), isr.get(), guestFeatures, deviceFeatureSelect, driverFeatureSelect,
                    queueSelect, configGeneration, configVector, queueSize.clone(), en, queueDesc.clone(),
                    queueAvail.clone(), queueUsed.clone(), queueVector.clone(), last, used, sv, su);
            return new State(pciState(), common, msix.state(), device.state());
        }
    }

    @Override
    @SuppressWarnings("unchecked")
    public void restore(State s) {
        Common c = s.common();
        int n = queues.length;
        if (c.queueSize().length != n) {
            throw new IllegalArgumentException(name() + ": the stream has " + c.queueSize().length
                    + " queues, this device has " + n);
        }
        checkPci(s.pci());
        msix.check(s.msix());
        if ((c.guestFeatures() & ~offered) != 0) {
            throw new IllegalArgumentException(String.format("%s: negotiated features 0x%x are not all offered "
                    + "here (0x%x)", name(), c.guestFeatures(), offered));
        }
        Virtqueue.State[] qs = new Virtqueue.State[n];
        for (int q = 0; q < n; q++) {
            boolean en = c.queueEnabled()[q] != 0;
            int size = c.queueSize()[q];
            if (en && !queues[q].validSize(size)) {
                throw new IllegalArgumentException(name() + ": queue " + q + " size " + size
                        + " is not a power of two up to " + queues[q].maxSize());
            }
            qs[q] = new Virtqueue.State(queues[q].validSize(size) ? size : queues[q].maxSize(), en,
                    c.queueDesc()[q], c.queueAvail()[q], c.queueUsed()[q], c.lastAvailIdx()[q], c.usedIdx()[q],
                    c.signalledUsedValid()[q] != 0, c.signalledUsed()[q]);
            new Virtqueue(q, queues[q].maxSize()).restore(qs[q]); // checks it before anything changes
        }
        synchronized (regs) {
            device.restore((S) s.device());
            status.set(c.status());
            isr.set(c.isr());
            guestFeatures = c.guestFeatures();
            deviceFeatureSelect = c.deviceFeatureSelect();
            driverFeatureSelect = c.driverFeatureSelect();
            queueSelect = c.queueSelect();
            configGeneration = c.configGeneration();
            configVector = c.configVector();
            long f = guestFeatures;
            for (int q = 0; q < n; q++) {
                queues[q].restore(qs[q]);
                queues[q].setFeatures(VirtioFeatures.has(f, VirtioFeatures.EVENT_IDX),
                        VirtioFeatures.has(f, VirtioFeatures.INDIRECT_DESC));
                queueSize[q] = c.queueSize()[q];
                queueEnabled[q] = qs[q].enabled();
                queueDesc[q] = c.queueDesc()[q];
                queueAvail[q] = c.queueAvail()[q];
                queueUsed[q] = c.queueUsed()[q];
                queueVector[q] = c.queueVector()[q];
            }
            msix.restore(s.msix());
            restorePci(s.pci());
            boolean driverOk = (c.status() & DRIVER_OK) != 0;
            active = driverOk;
            if (driverOk) {
                io.runAndWait(() -> device.activate(context, f));
            }
        }
    }

    @Override
    public String id() {
        return name();
    }

    /** The second virtio-rng's section is "virtio-rng" instance 1, as QEMU numbers sections of one name. */
    @Override
    public int instanceId() {
        return instance;
    }
}
