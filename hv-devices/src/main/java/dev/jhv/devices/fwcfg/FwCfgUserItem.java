package dev.jhv.devices.fwcfg;

import dev.jhv.devices.DeviceException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A user's {@code -fw_cfg [name=]NAME,file=PATH} or {@code -fw_cfg [name=]NAME,string=STR} item, checked as QEMU
 * checks it: a name, exactly one of file and string, a name of at most 55 bytes. A name outside "opt/" (the
 * prefix kept for users) is accepted with QEMU's warning, {@link #warning()}. A string is stored without a NUL.
 */
public record FwCfgUserItem(String name, byte[] data) {
    public FwCfgUserItem {
        data = data.clone();
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    /**
     * The item from the option's values ({@code null} or empty where absent).
     *
     * @throws DeviceException with QEMU's message when the option is refused or the file cannot be read
     */
    public static FwCfgUserItem of(String name, String file, String string) {
        boolean hasFile = file != null && !file.isEmpty();
        boolean hasString = string != null && !string.isEmpty();
        if (name == null || name.isEmpty() || (!hasFile && !hasString)) {
            throw new DeviceException("-fw_cfg: invalid argument(s)");
        }
        if (hasFile && hasString) {
            throw new DeviceException("-fw_cfg: file and string are mutually exclusive");
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > FwCfgBuilder.MAX_FILE_NAME) {
            throw new DeviceException("-fw_cfg: name too long (max. " + FwCfgBuilder.MAX_FILE_NAME + " char)");
        }
        if (hasString) {
            return new FwCfgUserItem(name, string.getBytes(StandardCharsets.UTF_8));
        }
        try {
            return new FwCfgUserItem(name, Files.readAllBytes(Path.of(file)));
        } catch (IOException e) {
            throw new DeviceException("-fw_cfg: can't load " + file + ": " + e.getMessage(), e);
        }
    }

    /** QEMU's warning for a name outside "opt/", or none. */
    public Optional<String> warning() {
        return name.startsWith("opt/") ? Optional.empty()
                : Optional.of("-fw_cfg name=" + name
                        + ": warning: externally provided fw_cfg item names should be prefixed with \"opt/\"");
    }
}
