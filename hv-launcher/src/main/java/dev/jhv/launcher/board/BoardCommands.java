package dev.jhv.launcher.board;

import dev.jhv.core.block.BlockDevice;
import dev.jhv.core.block.ImageLock;
import dev.jhv.devices.DeviceException;
import dev.jhv.devices.board.PcBoard;
import dev.jhv.devices.ide.AtapiCdrom;
import dev.jhv.devices.ide.IdeDrive;
import dev.jhv.devices.pci.PciDeviceInfo;
import dev.jhv.launcher.monitor.Args;
import dev.jhv.launcher.monitor.MonitorCommand;
import dev.jhv.launcher.monitor.MonitorContext;
import dev.jhv.launcher.monitor.MonitorException;
import dev.jhv.launcher.monitor.Param;
import dev.jhv.qcow2.BlockImages;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** The board's monitor commands: info pci, and eject / change for a CD-ROM's medium. */
final class BoardCommands {
    private BoardCommands() { }

    static MonitorCommand infoPci(PcBoard board) {
        return new InfoPci(board);
    }

    static List<MonitorCommand> commands(PcBoard board) {
        return List.of(new Eject(board), new Change(board));
    }

    private static AtapiCdrom cdrom(PcBoard board, String name) {
        IdeDrive d = board.ideDrive(name).orElseThrow(() -> new MonitorException("Device '" + name
                + "' not found"));
        if (!(d instanceof AtapiCdrom cd)) {
            throw new MonitorException("Device '" + name + "' is not removable");
        }
        return cd;
    }

    private static void closeQuietly(Optional<BlockDevice> old) {
        old.ifPresent(b -> {
            try {
                b.close();
            } catch (IOException e) {
                // the medium was only read
            }
        });
    }

    private record InfoPci(PcBoard board) implements MonitorCommand {
        public String name() {
            return "pci";
        }

        public String help() {
            return "show PCI info";
        }

        public void run(MonitorContext ctx, Args args) {
            ctx.print(PciDeviceInfo.render(board.pci().info()));
        }
    }

    private record Eject(PcBoard board) implements MonitorCommand {
        public String name() {
            return "eject";
        }

        public List<Param> params() {
            return List.of(Param.restOfLine("args"));
        }

        public String help() {
            return "eject a removable medium (use -f to force it)";
        }

        public void run(MonitorContext ctx, Args args) {
            String[] words = args.has("args") ? args.get("args").trim().split("\\s+") : new String[0];
            boolean force = words.length > 0 && words[0].equals("-f");
            int i = force ? 1 : 0;
            if (words.length != i + 1 || words[i].isEmpty()) {
                throw new MonitorException("eject: usage: eject [-f] device");
            }
            try {
                closeQuietly(cdrom(board, words[i]).eject(force));
            } catch (DeviceException e) {
                throw new MonitorException(e.getMessage());
            }
        }
    }

    private record Change(PcBoard board) implements MonitorCommand {
        public String name() {
            return "change";
        }

        public List<Param> params() {
            return List.of(Param.word("device"), Param.word("filename"), Param.optionalWord("format"));
        }

        public String help() {
            return "change a removable medium, optional format";
        }

        public void run(MonitorContext ctx, Args args) {
            AtapiCdrom cd = cdrom(board, args.get("device"));
            String file = args.get("filename");
            BlockDevice media;
            try {
                media = BlockImages.open(Path.of(file), args.has("format") ? args.get("format") : null,
                        ImageLock.Access.device(false));
            } catch (IOException | RuntimeException e) {
                throw new MonitorException("Could not open '" + file + "': " + e.getMessage());
            }
            try {
                closeQuietly(cd.insert(media));
            } catch (DeviceException e) {
                closeQuietly(Optional.of(media));
                throw new MonitorException(e.getMessage());
            }
        }
    }
}
