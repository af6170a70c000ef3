package dev.jhv.launcher.aot;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassFileVersion;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassTransform;
import java.lang.classfile.CodeTransform;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * A build step on the runnable jar: rewrites class files older than Java 6 (picocli is compiled for Java 5) as
 * version 52 with stack maps. The JDK's AOT cache only holds classes the split verifier can check, so without this
 * every start spends about 0.1 s loading and verifying picocli the old way. Code is rebuilt instruction for
 * instruction; only the version and the generated StackMapTable differ.
 * <p>
 * Usage: {@code java dev.jhv.launcher.aot.ClassFileUpgrade JAR} (the jar is replaced).
 */
public final class ClassFileUpgrade {
    private static final int FIRST_SPLIT_VERIFIER_VERSION = 50;
    private static final int TARGET_VERSION = 52;

    private ClassFileUpgrade() { }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: ClassFileUpgrade JAR");
            System.exit(2);
        }
        Path jar = Path.of(args[0]);
        Path tmp = jar.resolveSibling(jar.getFileName() + ".upgrading");
        int upgraded;
        try (URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, null)) {
            upgraded = rewrite(jar, tmp, ClassFile.of(ClassFile.ClassHierarchyResolverOption.of(
                    ClassHierarchyResolver.ofResourceParsing(loader).orElse(ClassHierarchyResolver.defaultResolver()))));
        }
        Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        System.out.println("ClassFileUpgrade: " + upgraded + " class files of " + jar.getFileName()
                + " raised to version " + TARGET_VERSION);
    }

    private static int rewrite(Path jar, Path out, ClassFile cf) throws IOException {
        int upgraded = 0;
        try (InputStream is = Files.newInputStream(jar); ZipInputStream zin = new ZipInputStream(is);
                OutputStream os = Files.newOutputStream(out); ZipOutputStream zout = new ZipOutputStream(os)) {
            ZipEntry e;
            while ((e = zin.getNextEntry()) != null) {
                byte[] b = zin.readAllBytes();
                if (isOldClass(e.getName(), b)) {
                    b = upgrade(cf, b);
                    upgraded++;
                }
                ZipEntry copy = new ZipEntry(e.getName());
                copy.setTime(e.getTime());
                zout.putNextEntry(copy);
                zout.write(b);
                zout.closeEntry();
            }
        }
        return upgraded;
    }

    private static boolean isOldClass(String name, byte[] b) {
        return name.endsWith(".class") && !name.startsWith("META-INF/") && b.length > 8
                && ((b[6] & 0xff) << 8 | (b[7] & 0xff)) < FIRST_SPLIT_VERIFIER_VERSION;
    }

    /** Rebuilding every method body makes the library generate the stack maps the new version requires. */
    static byte[] upgrade(ClassFile cf, byte[] classFile) {
        ClassTransform raiseVersion = (cb, el) -> {
            if (el instanceof ClassFileVersion) {
                cb.withVersion(TARGET_VERSION, 0);
            } else {
                cb.with(el);
            }
        };
        return cf.transformClass(cf.parse(classFile),
                ClassTransform.transformingMethodBodies(CodeTransform.ACCEPT_ALL).andThen(raiseVersion));
    }
}
