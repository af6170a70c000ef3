package dev.jhv.migration.control;

import dev.jhv.core.machine.Machine;
import dev.jhv.core.machine.RunState;
import dev.jhv.core.memory.DirtyLog;
import dev.jhv.migration.channel.MigrationChannel;
import dev.jhv.migration.channel.MigrationUri;
import dev.jhv.migration.channel.RateLimitedOutputStream;
import dev.jhv.migration.converge.AutoConverge;
import dev.jhv.migration.converge.ThrottleSettings;
import dev.jhv.migration.converge.ThrottledVcpu;
import dev.jhv.migration.machine.MachineState;
import dev.jhv.migration.postcopy.PostcopyPolicy;
import dev.jhv.migration.postcopy.PostcopySwitch;
import dev.jhv.migration.stream.MigrationException;
import dev.jhv.migration.stream.MigrationStreamWriter;
import dev.jhv.migration.stream.RamStateEntry;
import dev.jhv.migration.stream.SaveStateRegistry;
import dev.jhv.migration.xbzrle.XbzrleSender;

import java.io.IOException;
import java.util.function.Supplier;

/**
 * One outgoing precopy migration, QEMU's three stages, on its own thread. Stage 1 turns the dirty log on and sends
 * all of RAM; stage 2 repeats passes over the pages dirtied since the last one, measuring the bandwidth each pass
 * achieved and estimating the downtime as what is left over that bandwidth; once the estimate is within
 * downtime-limit, stage 3 pauses the guest, sends the rest and the device state, and waits for the destination's
 * acknowledgement (sockets). Until that acknowledgement, any failure or a cancel resumes the source as it was.
 */
final class LiveMigration {
    private static final long PAGE = 4096;

    private final Machine machine;
    private final MigrationUri uri;
    private final Supplier<MigrationParameters> parameters;
    private final MigrationStatus status;
    private final MigrationCapabilities capabilities;
    /** auto-converge while it runs; null when the capability is off. */
    private AutoConverge converge;
    private volatile boolean cancelled;
    private volatile String stalled;
    private volatile MigrationChannel.Out channel;
    /** The connect under way, which a cancel ends (a destination that never answers). */
    private final MigrationChannel.Connecting connecting = new MigrationChannel.Connecting();
    private volatile RateLimitedOutputStream wire;
    /** Set while the source waits for the destination's answer, so that the watchdog times that wait too. */
    private volatile long waitingSince;
    /** Postcopy: asked for (migrate_start_postcopy or jhv's policy), and its source once switched. */
    private final PostcopySwitch postcopy = new PostcopySwitch();
    /** The XBZRLE side of this migration, with the xbzrle capability. */
    private XbzrleSender xbzrle;

    /** @param capabilities as they were when the migration began (they cannot change under it) */
    LiveMigration(Machine machine, MigrationUri uri, Supplier<MigrationParameters> parameters,
                  MigrationStatus status, MigrationCapabilities capabilities) {
        this.machine = machine;
        this.uri = uri;
        this.parameters = parameters;
        this.status = status;
        this.capabilities = capabilities;
    }

    /** The multifd channels, when the capability is on (see {@link Multifd}). */
    private volatile dev.jhv.migration.multifd.MultifdSender multifd;

    /** Bytes on every channel: the main stream's and the multifd channels'. */
    private long wireBytes(RateLimitedOutputStream out) {
        var m = multifd;
        if (m == null) {
            return out.written();
        }
        long bytes = m.bytes();
        status.multifd(bytes);
        return out.written() + bytes;
    }

    /** Runs the whole migration on the calling thread; the outcome is in the status. */
    void run() {
        Thread watchdog = Thread.ofPlatform().name("migration-watchdog").daemon(true).start(this::watch);
        try {
            machine.operations().migration(this::cancel, () -> {
                precopy();
                return null;
            });
        } catch (RuntimeException e) {
            if (status.state().running()) { // refused before it began (a quit, a migration already running)
                recordFailure(e);
                cancelledOnceResumed();
            }
        } finally {
            watchdog.interrupt();
        }
    }

    /** migrate_start_postcopy: the next chunk boundary of precopy switches to postcopy. */
    void startPostcopy() {
        postcopy.request();
    }

    /** migrate -r URI: a postcopy paused by a lost link goes on over a new connection. */
    void resume(MigrationUri to) {
        postcopy.resume(to);
    }

    /** migrate_cancel (and quit): the source resumes once the migration thread has let go. */
    void cancel() {
        if (postcopy.destinationRuns()) {
            return; // the destination owns the guest: nothing to go back to (QEMU: recover, not cancel)
        }
        cancelled = true;
        status.cancelling();
        connecting.abort();
        MigrationChannel.Out ch = channel;
        if (ch != null) {
            ch.abort();
        }
        abortMultifd();
    }

    private void abortMultifd() {
        var m = multifd;
        if (m != null) {
            m.abort();
        }
    }

    private void checkCancel() {
        if (cancelled) {
            throw new MigrationException("cancelled");
        }
    }

    private void precopy() {
        SaveStateRegistry reg = MachineState.registry(machine);
        RamStateEntry ram = (RamStateEntry) reg.entries().stream().filter(e -> e instanceof RamStateEntry)
                .findFirst().orElseThrow();
        var config = MachineState.configuration(machine, reg);
        DirtyLog dirty = machine.dirtyLog();
        RunState before = null;
        if (capabilities.enabled("xbzrle")) {
            xbzrle = new XbzrleSender(ram.blocks(), parameters.get().xbzrleCacheSize());
            ram.encodeWith(xbzrle);
        }
        dev.jhv.core.trace.StartupTrace.mark("migration: registry built");
        try (MigrationChannel.Out ch = MigrationChannel.openOutgoing(uri, connecting, security())) {
            dev.jhv.core.trace.StartupTrace.mark("migration: connected");
            channel = ch;
            checkCancel();
            RateLimitedOutputStream out = new RateLimitedOutputStream(ch.stream, parameters.get().maxBandwidth());
            wire = out;
            MigrationStreamWriter writer = new MigrationStreamWriter(out, reg);
            if (ch.returnPath != null) {
                // the destination may refuse at any point (its configuration, a damaged section): hear it at once
                Thread.ofPlatform().name("migration-return-path").daemon(true).start(() -> listen(ch));
            }
            // before the first pass, not beside it: on two cores a warm-up thread beside the pass made both take
            // twice as long (measured: pass 0.39 s alone, 0.7-1.05 s beside it)
            warmUp();
            if (capabilities.enabled("multifd")) {
                var p = parameters.get();
                multifd = dev.jhv.migration.multifd.Multifd.open(uri, p.multifdChannels(),
                        i -> MigrationChannel.openOutgoing(uri, connecting, security()), ram, p.maxBandwidth());
                ram.sendPagesThrough(multifd);
                checkCancel();
            }
            // before the first pass, which sends all of RAM: what the guest writes meanwhile is sent again. Each
            // chunk of the log is re-armed just before its pages are read (with KVM's manual protection; else the
            // sync re-arms all), and with every page counted dirty from the start, KVM protects nothing up front
            ram.beforeSending(dirty::clearForSending);
            dirty.startAllDirty();
            dev.jhv.core.trace.StartupTrace.mark("migration: dirty log on");
            // QEMU counts the bitmap it starts from as the first dirty sync (MIGRATION_PASS 1)
            long syncs = 1;
            status.dirtySynced(syncs);
            writer.writeHeader(config);
            writer.iterativeSetup();
            status.active();
            startAutoConverge(wireBytes(out));
            SwitchoverEstimate estimate = SwitchoverEstimate.NONE;
            while (true) {
                long t0 = System.nanoTime();
                long b0 = wireBytes(out);
                writer.newPass();
                boolean done;
                do {
                    checkCancel();
                    out.setRate(parameters.get().maxBandwidth());
                    if (multifd != null) {
                        multifd.setRate(parameters.get().maxBandwidth());
                    }
                    done = writer.iterativePass();
                    if (converge != null && converge.periodDue(System.nanoTime())) {
                        converge.synced(syncNewlyDirty(dirty, ram), wireBytes(out), System.nanoTime());
                    }
                    report(out, ram, t0);
                } while (!done && !postcopy.requested());
                writer.flush();
                dev.jhv.core.trace.StartupTrace.mark("migration: pass sent");
                long dt = System.nanoTime() - t0;
                long pendingBefore = ram.pendingPages();
                long dirtied = syncDirty(dirty, ram);
                if (converge != null) {
                    converge.synced((ram.pendingPages() - pendingBefore) * PAGE, wireBytes(out), System.nanoTime());
                }
                syncs++;
                if (xbzrle != null) {
                    xbzrle.synced(syncs, ram.saveStats());
                }
                // what the destination has yet to consume is downtime too: it must read it before the rest
                long backlog = destinationConsumed < 0 ? 0 : out.written() - destinationConsumed;
                long pendingBytes = xbzrle != null ? xbzrle.expectedBytes(ram.pendingPages())
                        : ram.pendingPages() * PAGE;
                estimate = estimate.next(wireBytes(out) - b0, dt, pendingBytes, backlog);
                status.synced(syncs, dt > 0 ? (long) (dirtied * 1e9 / dt) : 0, estimate.bandwidth(),
                        estimate.expectedMs());
                report(out, ram, t0);
                dev.jhv.core.trace.StartupTrace.mark("migration: synced, expected " + estimate.expectedMs() + " ms");
                if (estimate.fits(parameters.get().downtimeLimitMs()) || postcopy.requested()) {
                    break;
                }
                if (PostcopyPolicy.switchNow(parameters.get(), postcopyCapable, syncs, dirtied, dt,
                        estimate.bandwidth())) {
                    postcopy.request();
                    break;
                }
                if (ram.pendingPages() == 0) {
                    // only the destination's backlog keeps the guest from stopping: let it read (a pacing pause)
                    java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
                }
            }
            if (postcopy.requested()) {
                before = machine.enterSaveState(RunState.FINISH_MIGRATE);
                syncDirty(dirty, ram);
                status.dirtySynced(++syncs);
                ram.beforeSending(null);
                postcopy.run(new PostcopySwitch.Source(machine, status, parameters, ch, out, writer, ram, dirty,
                        this::checkCancel, this::listenAgain, this::awaitAnswer, () -> answer));
                before = null; // the destination ran the guest, and completed
                return;
            }
            // stage 3: the guest stops; from here the downtime runs
            long p0 = System.nanoTime();
            before = machine.enterSaveState(RunState.FINISH_MIGRATE);
            long p1 = System.nanoTime();
            dev.jhv.core.trace.StartupTrace.mark("migration: guest paused");
            syncDirty(dirty, ram);
            status.dirtySynced(++syncs);
            if (xbzrle != null) {
                xbzrle.synced(syncs, ram.saveStats());
            }
            ram.beforeSending(null); // the guest is stopped: nothing to re-arm, no ioctls in the downtime
            long p2 = System.nanoTime();
            long w0 = wireBytes(out);
            if (multifd != null) {
                multifd.setRate(0);
            }
            out.setRate(0); // the guest is stopped: the rest goes as fast as the link allows, as QEMU does
            writer.completeIterative();
            long p3 = System.nanoTime();
            writer.completeDevices();
            out.flush();
            if (multifd != null) {
                multifd.close(); // after the last sync point: each channel ends
            }
            long p4 = System.nanoTime();
            dev.jhv.core.trace.StartupTrace.mark("migration: stream flushed");
            if (ch.returnPath != null) {
                awaitAnswer();
            }
            dev.jhv.core.trace.StartupTrace.mark("migration: acknowledged");
            long downtimeBytes = wireBytes(out) - w0;
            ch.close(); // an exec: command's status is the last word
            long p6 = System.nanoTime();
            // the log is done with before the outcome shows: turning it off (KVM walks the slots) must not lie
            // between "completed" and postmigrate, which a monitor sees one after the other
            dirty.stop();
            checkCancel();
            endAutoConverge();
            status.progress(wireBytes(out), 0, ram.saveStats().zeroPages(), ram.saveStats().normalPages(), 0);
            reportXbzrle(ram);
            // the migration ends before the run state shows it, so a command issued on seeing it finds it ended;
            // the run state is postmigrate before "completed" shows, so who waits for that sees the source stopped
            machine.operations().migrationEnding();
            machine.leaveSaveState(RunState.POSTMIGRATE);
            before = null;
            status.completed(wireBytes(out), downtimeBytes, new MigrationStatus.Downtime(ms(p1 - p0), ms(p2 - p1),
                    ms(p3 - p2), ms(p4 - p3), ms(p6 - p4)));
        } catch (IOException e) {
            throw recordFailure(new java.io.UncheckedIOException(destinationsWord(e), e));
        } catch (RuntimeException e) {
            var m = multifd;
            if (m != null && m.failure() != null) {
                // a channel broken by the destination's refusal: its reason comes on the return path
                throw recordFailure(new java.io.UncheckedIOException(destinationsWord(new IOException(
                        m.failure(), e)), new IOException(m.failure(), e)));
            }
            throw recordFailure(e);
        } finally {
            dirty.stop();
            if (xbzrle != null) {
                reportXbzrle(ram);
                ram.encodeWith(null);
                xbzrle.close();
            }
            endAutoConverge(); // the throttle ends with the migration, whatever its outcome
            if (before != null && !postcopy.destinationRuns()) {
                machine.operations().migrationEnding();
                machine.leaveSaveState(before); // the source goes on as it was
            }
            MigrationChannel.Out ch = channel;
            if (ch != null) {
                ch.abort();
            }
            abortMultifd();
            cancelledOnceResumed();
        }
    }

    /** Whether postcopy-ram was on when this migration began (capabilities cannot change under it). */
    private volatile boolean postcopyCapable;

    void postcopyCapable(boolean on) {
        postcopyCapable = on;
    }

    private void startAutoConverge(long sentBytes) {
        if (!capabilities.enabled("auto-converge")) {
            return;
        }
        converge = new AutoConverge(machine.vcpus().stream().map(ThrottledVcpu::of).toList(),
                () -> ThrottleSettings.of(parameters.get()), System.nanoTime(), sentBytes);
        AutoConverge c = converge;
        // shown while some vCPU is throttled, as QEMU shows its line only while its throttle is active
        status.cpuThrottle(() -> c.percent() == 0 ? null
                : new MigrationStatus.CpuThrottle(c.percent(), c.percents(), c.runPercents()));
    }

    private void endAutoConverge() {
        if (converge != null) {
            converge.stop();
            status.cpuThrottle(null);
        }
    }

    /** A sync within a pass (auto-converge's period): the bytes it found dirty that were not pending already. */
    private static long syncNewlyDirty(DirtyLog dirty, RamStateEntry ram) {
        long before = ram.pendingPages();
        syncDirty(dirty, ram);
        return (ram.pendingPages() - before) * PAGE;
    }

    /** What the sockets go through: TLS with tls-creds (loaded when the migration begins, as QEMU does). */
    private dev.jhv.migration.channel.SocketSecurity security() throws IOException {
        if (security == null) {
            var p = parameters.get();
            security = dev.jhv.migration.tls.Tls.client(p.tlsCreds(), p.tlsHostname(), uri);
        }
        return security;
    }

    private dev.jhv.migration.channel.SocketSecurity security;

    /** As QEMU: a cancelled migration shows "cancelled" once the source runs again, not before. */
    private void cancelledOnceResumed() {
        if (cancelled && status.state() == MigrationStatus.State.CANCELLING) {
            status.cancelled();
        }
    }

    /**
     * Makes every page the log reports pending again; returns how many it reported. The log re-arms a page only when
     * the sender is about to read it; after a whole pass none is left unsent, so the count is what the pass saw written.
     */
    private static long syncDirty(DirtyLog dirty, RamStateEntry ram) {
        long[][] bits = dirty.syncKeepingProtection();
        for (int i = 0; i < bits.length; i++) {
            ram.markDirty(i, bits[i]);
        }
        return DirtyLog.count(bits);
    }

    /** Warms the device-state path while the guest runs (see {@link MachineState#warmUp}); best effort. */
    private void warmUp() {
        try {
            MachineState.warmUp(machine, false);
            dev.jhv.core.trace.StartupTrace.mark("migration: warmed up");
        } catch (RuntimeException e) {
            // only a loss of speed: the real save reports any real problem
        }
    }

    /**
     * Records why it failed before the source is resumed (as QEMU shows "failed" a moment before it runs again); a
     * cancel is recorded after, by {@link #cancelledOnceResumed}. Returns {@code e}.
     */
    private RuntimeException recordFailure(RuntimeException e) {
        if (status.state() == MigrationStatus.State.COMPLETED) {
            return e; // a postcopy that recovered: closing the first, broken connection fails, after the end
        }
        if (!cancelled) { // a cancel is recorded once the source has resumed
            status.failed(stalled != null ? stalled : refusal != null ? refusal : Migration.reason(e));
        }
        return e;
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    private void report(RateLimitedOutputStream out, RamStateEntry ram, long passStart) {
        double s = Math.max(1e-9, (System.nanoTime() - passStart) / 1e9);
        var st = ram.saveStats();
        status.progress(wireBytes(out), ram.pendingPages() * PAGE, st.zeroPages(), st.normalPages(),
                (long) (st.pages() / Math.max(s, 1e-3)));
        reportXbzrle(ram);
    }

    private void reportXbzrle(RamStateEntry ram) {
        if (xbzrle != null) {
            var c = xbzrle.counters(ram.saveStats());
            status.xbzrle(new MigrationStatus.XbzrleCache(c.cacheSize(), c.bytes(), c.pages(), c.cacheMiss(),
                    c.cacheMissRate(), c.encodingRate(), c.overflow()));
        }
    }

    /** The destination's answer: "" once acknowledged, else its refusal or why none came; incomplete until then. */
    private volatile java.util.concurrent.CompletableFuture<String> answer = new java.util.concurrent.CompletableFuture<>();

    /** Reads the return path: one answer, acknowledgement or refusal; a refusal stops the migration at once. */
    private void listen(MigrationChannel.Out ch) {
        var answer = this.answer; // a recovered link has a new one, set before its listener starts
        try {
            ReturnPath.read(ch.returnPath, new ReturnPath.Listener() {
                @Override
                public void progress(long consumed) {
                    destinationConsumed = consumed;
                }

                @Override
                public void pageRequest(int block, long offset, long length) {
                    postcopy.pageRequest(block, offset, length);
                }

                @Override
                public void running() {
                    postcopy.destinationRunning();
                }

                @Override
                public void received(long[][] bitmaps) {
                    postcopy.destinationHas(bitmaps);
                }
            });
            answer.complete("");
        } catch (IOException e) {
            String why = e.getMessage() != null ? e.getMessage() : "the return path broke";
            answer.complete(why);
            if (isRefusal(why)) {
                refusal = why;
                ch.abort();
            }
        }
    }

    /** The destination's word on why it will not take the stream (its refusal, or its TLS side's). */
    private static boolean isRefusal(String why) {
        return why.startsWith("the destination refused") || why.startsWith("TLS handshake failed");
    }

    /** A recovered link: a fresh answer, heard on a new return-path thread. */
    private void listenAgain(MigrationChannel.Out ch) {
        answer = new java.util.concurrent.CompletableFuture<>();
        Thread.ofPlatform().name("migration-return-path").daemon(true).start(() -> listen(ch));
    }

    /** Bytes of the stream the destination has consumed, as it last reported; -1: it does not report. */
    private volatile long destinationConsumed = -1;

    /** Set when the destination refused the stream; the reason the source reports. */
    private volatile String refusal;

    private void awaitAnswer() throws IOException {
        waitingSince = System.nanoTime();
        try {
            String a = answer.get();
            if (!a.isEmpty()) {
                throw new IOException(a.startsWith("the destination") ? a
                        : "the destination did not acknowledge the stream: " + a);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted waiting for the destination");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException(e.getCause().getMessage());
        } finally {
            waitingSince = 0;
        }
    }

    /** A broken connection may have been the destination's refusal: report that reason. */
    private String destinationsWord(IOException e) {
        if (refusal != null) {
            return refusal;
        }
        if (!cancelled && stalled == null && channel != null && channel.returnPath != null) {
            try {
                // the refusal and the broken pipe race: give the return path time to deliver its reason (a closed
                // return path answers at once, so the bound only matters for a slow destination; 1 s was too short
                // for a loaded machine in CI)
                String a = answer.get(5, java.util.concurrent.TimeUnit.SECONDS);
                if (isRefusal(a)) {
                    return a;
                }
            } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException x) {
                // no word from the destination
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
            }
        }
        return Migration.reason(e);
    }

    /** Fails the migration when the link makes no progress for the stall timeout (TCP alone would wait minutes). */
    private void watch() {
        try {
            while (true) {
                Thread.sleep(200); // a periodic check, not a synchronisation
                if (postcopy.destinationRuns()) {
                    return; // a lost link now pauses (PostcopySwitch), it does not fail the migration
                }
                RateLimitedOutputStream w = wire;
                if (w == null) {
                    continue;
                }
                long since = Math.max(w.lastProgressNanos(), waitingSince);
                var m = multifd;
                if (m != null) {
                    since = Math.max(since, m.lastProgressNanos());
                }
                long limit = parameters.get().stallTimeoutMs();
                if ((System.nanoTime() - since) / 1_000_000 > limit) {
                    stalled = "the connection stalled: no progress for " + limit / 1000.0 + " s";
                    MigrationChannel.Out ch = channel;
                    if (ch != null) {
                        ch.abort();
                    }
                    abortMultifd();
                    return;
                }
            }
        } catch (InterruptedException e) {
            // the migration ended
        }
    }
}
