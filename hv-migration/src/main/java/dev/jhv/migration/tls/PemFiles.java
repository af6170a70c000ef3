package dev.jhv.migration.tls;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Certificates and private keys from PEM files as certtool and openssl write them: certificates, PKCS#8 keys
 * ("PRIVATE KEY": RSA, EC, Ed25519) and PKCS#1 RSA keys ("RSA PRIVATE KEY", which older certtool writes).
 */
public final class PemFiles {
    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*?)-----END \\1-----");
    /** rsaEncryption, 1.2.840.113549.1.1.1, as DER. */
    private static final byte[] RSA_OID = {0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01,
            0x01, 0x01};

    private PemFiles() { }

    /** A PEM block: its label ("CERTIFICATE") and DER bytes. */
    record Block(String label, byte[] der) { }

    static List<Block> blocks(String text) {
        List<Block> out = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            out.add(new Block(m.group(1), Base64.getMimeDecoder().decode(m.group(2))));
        }
        return out;
    }

    private static String read(Path file) throws IOException {
        try {
            return Files.readString(file, java.nio.charset.StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": No such file or directory", e);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new IOException(file + ": not a PEM file", e);
        }
    }

    /** Every certificate in a PEM file (at least one). */
    public static List<X509Certificate> certificates(Path file) throws IOException {
        var cf = certificateFactory();
        List<X509Certificate> certs = new ArrayList<>();
        for (Block b : blocks(read(file))) {
            if (b.label().equals("CERTIFICATE") || b.label().equals("X509 CERTIFICATE")) {
                try {
                    certs.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(b.der())));
                } catch (java.security.cert.CertificateException e) {
                    throw new IOException(file + ": a certificate that cannot be read: " + e.getMessage(), e);
                }
            }
        }
        if (certs.isEmpty()) {
            throw new IOException(file + ": no PEM certificate in it");
        }
        return certs;
    }

    private static CertificateFactory certificateFactory() throws IOException {
        try {
            return CertificateFactory.getInstance("X.509");
        } catch (java.security.cert.CertificateException e) {
            throw new IOException("X.509 certificates are not supported by this JDK", e);
        }
    }

    /** The private key in a PEM file. */
    public static PrivateKey privateKey(Path file) throws IOException {
        for (Block b : blocks(read(file))) {
            switch (b.label()) {
                case "PRIVATE KEY" -> {
                    return pkcs8(file, b.der());
                }
                case "RSA PRIVATE KEY" -> {
                    return pkcs8(file, pkcs1ToPkcs8(b.der()));
                }
                case "ENCRYPTED PRIVATE KEY" -> throw new IOException(file + ": the key is encrypted; QEMU's "
                        + "tls-creds-x509 needs it in the clear (openssl pkcs8 -topk8 -nocrypt)");
                case "EC PRIVATE KEY" -> throw new IOException(file + ": an EC key in SEC1 form is not supported; "
                        + "convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)");
                default -> {
                    // parameters, certificates: not the key
                }
            }
        }
        throw new IOException(file + ": no PEM private key in it");
    }

    private static PrivateKey pkcs8(Path file, byte[] der) throws IOException {
        var spec = new PKCS8EncodedKeySpec(der);
        for (String alg : List.of("RSA", "EC", "Ed25519", "RSASSA-PSS")) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // another algorithm
            }
        }
        throw new IOException(file + ": a private key of an algorithm this JDK does not read");
    }

    /** PKCS#1 RSAPrivateKey wrapped as PKCS#8: SEQUENCE { 0, SEQUENCE { rsaEncryption, NULL }, OCTET STRING }. */
    static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
        var alg = new ByteArrayOutputStream();
        alg.writeBytes(RSA_OID);
        alg.writeBytes(new byte[] {0x05, 0x00});
        var body = new ByteArrayOutputStream();
        body.writeBytes(new byte[] {0x02, 0x01, 0x00});
        body.writeBytes(der(0x30, alg.toByteArray()));
        body.writeBytes(der(0x04, pkcs1));
        return der(0x30, body.toByteArray());
    }

    private static byte[] der(int tag, byte[] content) {
        var out = new ByteArrayOutputStream();
        out.write(tag);
        int n = content.length;
        if (n < 0x80) {
            out.write(n);
        } else {
            int bytes = (32 - Integer.numberOfLeadingZeros(n) + 7) / 8;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) {
                out.write(n >>> (8 * i));
            }
        }
        out.writeBytes(content);
        return out.toByteArray();
    }
}
