package dev.jhv.migration.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * QEMU's {@code -object tls-creds-x509,id=ID,dir=DIR,endpoint=server|client[,verify-peer=on|off]}: a directory
 * with ca-cert.pem and, for a server, server-cert.pem and server-key.pem, for a client (optionally)
 * client-cert.pem and client-key.pem. verify-peer (on by default, as QEMU's): a server asks for the client's
 * certificate and checks it, a client checks the server's.
 */
public record TlsCredentials(String id, Path dir, Endpoint endpoint, boolean verifyPeer) {
    public enum Endpoint { SERVER, CLIENT }

    public static final String TYPE = "tls-creds-x509";

    /** The objects of this process by id, as QEMU's /objects (jhv runs one machine per process). */
    private static final Map<String, TlsCredentials> OBJECTS = new ConcurrentHashMap<>();

    /** Defines (or redefines) an object, as -object does. */
    public static void define(TlsCredentials c) {
        OBJECTS.put(c.id(), c);
    }

    /**
     * The object a tls-creds parameter names, checked to be of the endpoint this side needs.
     *
     * @throws IllegalArgumentException in QEMU's words
     */
    public static TlsCredentials find(String id, Endpoint needed) {
        TlsCredentials c = OBJECTS.get(id);
        if (c == null) {
            throw new IllegalArgumentException("No TLS credentials with id '" + id + "'");
        }
        if (c.endpoint() != needed) {
            throw new IllegalArgumentException("Expecting TLS credentials with a " + needed.name().toLowerCase()
                    + " endpoint");
        }
        return c;
    }

    /**
     * Parses -object's argument ({@code tls-creds-x509,id=..,dir=..,endpoint=..[,verify-peer=..]}).
     *
     * @throws IllegalArgumentException in QEMU's words for a bad property
     */
    public static TlsCredentials parse(String text) {
        String[] parts = text.split(",");
        Map<String, String> props = new LinkedHashMap<>();
        String type = parts[0].startsWith("qom-type=") ? parts[0].substring(9) : parts[0];
        if (!type.equals(TYPE)) {
            throw new IllegalArgumentException("invalid object type: " + type + " (this build has " + TYPE + ")");
        }
        for (int i = 1; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("Invalid parameter '" + parts[i] + "'");
            }
            props.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
        }
        for (String k : props.keySet()) {
            if (!List.of("id", "dir", "endpoint", "verify-peer", "priority", "sanity-check").contains(k)) {
                throw new IllegalArgumentException("Property '" + TYPE + "." + k + "' not found");
            }
        }
        String id = props.get("id");
        if (id == null || id.isEmpty()) {
            throw new IllegalArgumentException("Parameter 'id' is missing");
        }
        String dir = props.get("dir");
        if (dir == null) {
            throw new IllegalArgumentException("Parameter 'dir' is missing");
        }
        Endpoint endpoint = switch (props.getOrDefault("endpoint", "client")) {
            case "server" -> Endpoint.SERVER;
            case "client" -> Endpoint.CLIENT;
            default -> throw new IllegalArgumentException("Parameter 'endpoint' does not accept value '"
                    + props.get("endpoint") + "'");
        };
        boolean verify = switch (props.getOrDefault("verify-peer", "on")) {
            case "on", "yes", "true" -> true;
            case "off", "no", "false" -> false;
            default -> throw new IllegalArgumentException("Parameter 'verify-peer' expects 'on' or 'off'");
        };
        Path d = dev.jhv.core.sys.HostPaths.of(dir);
        if (!Files.isDirectory(d)) {
            throw new IllegalArgumentException("Unable to access credentials " + d + ": No such file or directory");
        }
        return new TlsCredentials(id, d, endpoint, verify);
    }

    /**
     * The JDK's TLS context for these credentials, the files read now (as QEMU loads them when a connection is made).
     *
     * @param hostname what the server's certificate must name (a client; null: not checked)
     * @throws IOException naming the file that cannot be used
     */
    public javax.net.ssl.SSLContext context(String hostname) throws IOException {
        try {
            List<X509Certificate> ca = PemFiles.certificates(dir.resolve("ca-cert.pem"));
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            for (int i = 0; i < ca.size(); i++) {
                trust.setCertificateEntry("ca" + i, ca.get(i));
            }
            var tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
            tmf.init(trust);
            var pkix = (javax.net.ssl.X509TrustManager) tmf.getTrustManagers()[0];
            String who = endpoint == Endpoint.SERVER ? "server" : "client";
            Path cert = dir.resolve(who + "-cert.pem");
            Path key = dir.resolve(who + "-key.pem");
            javax.net.ssl.KeyManager[] keys = null;
            if (endpoint == Endpoint.SERVER || Files.exists(cert)) {
                List<X509Certificate> chain = PemFiles.certificates(cert);
                PrivateKey pk = PemFiles.privateKey(key);
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                ks.setKeyEntry("key", pk, new char[0], chain.toArray(X509Certificate[]::new));
                var kmf = javax.net.ssl.KeyManagerFactory.getInstance("SunX509");
                kmf.init(ks, new char[0]);
                keys = new javax.net.ssl.KeyManager[] {
                        new OwnCertificate((javax.net.ssl.X509ExtendedKeyManager) kmf.getKeyManagers()[0])};
            }
            var ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(keys, new javax.net.ssl.TrustManager[] {
                    new PeerCheck(pkix, verifyPeer, hostname, dir.resolve("ca-cert.pem"))}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException("TLS credentials '" + id + "' in " + dir + ": " + e.getMessage(), e);
        }
    }
}
