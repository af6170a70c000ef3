package dev.jhv.migration.tls;

import dev.jhv.migration.channel.MigrationUri;
import dev.jhv.migration.channel.SocketSecurity;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import java.io.IOException;

/**
 * TLS on migration sockets, as QEMU's tls-creds and tls-hostname parameters ask for it: the source is the TLS
 * client and checks the destination's certificate and host name, the destination the server (asking for the
 * source's certificate with verify-peer). A failed handshake is one line: "TLS handshake failed: ..." and why.
 */
public final class Tls {
    private Tls() { }

    /**
     * What the source's sockets go through for parameters tls-creds and tls-hostname ({@link SocketSecurity#NONE}
     * when tls-creds is empty). The host name checked is tls-hostname, else the URI's host (a unix socket has none:
     * then, as QEMU, the certificate's names are not checked).
     *
     * @throws IllegalArgumentException for unknown credentials (QEMU's words)
     * @throws IOException for credentials that cannot be loaded
     */
    public static SocketSecurity client(String credsId, String tlsHostname, MigrationUri uri) throws IOException {
        if (credsId == null || credsId.isEmpty()) {
            return SocketSecurity.NONE;
        }
        TlsCredentials creds = check(credsId, uri);
        String host = tlsHostname != null && !tlsHostname.isEmpty() ? tlsHostname
                : uri instanceof MigrationUri.Tcp t ? (t.host().isEmpty() ? "localhost" : t.host()) : null;
        creds.context(host); // the files are checked now, so that bad credentials fail before any connection
        return (in, out) -> {
            // a context per connection: each makes a full handshake (multifd channels resuming the main channel's
            // session against a destination were reset)
            SSLContext ctx = creds.context(host);
            SSLEngine engine = host == null ? ctx.createSSLEngine() : ctx.createSSLEngine(host, -1);
            engine.setUseClientMode(true);
            return handshake(engine, in, out, "destination");
        };
    }

    /**
     * Checks that tls-creds names client credentials and the URI is a socket TLS can run on; returns them (null
     * without tls-creds).
     *
     * @throws IllegalArgumentException in QEMU's words
     */
    public static TlsCredentials check(String credsId, MigrationUri uri) {
        if (credsId == null || credsId.isEmpty()) {
            return null;
        }
        TlsCredentials creds = TlsCredentials.find(credsId, TlsCredentials.Endpoint.CLIENT);
        if (!(uri instanceof MigrationUri.Tcp) && !(uri instanceof MigrationUri.Unix)) {
            throw new IllegalArgumentException("TLS (tls-creds '" + credsId + "') is only supported on tcp: and "
                    + "unix: migrations");
        }
        return creds;
    }

    /** What the destination's sockets go through for tls-creds ({@link SocketSecurity#NONE} when empty). */
    public static SocketSecurity server(String credsId) throws IOException {
        if (credsId == null || credsId.isEmpty()) {
            return SocketSecurity.NONE;
        }
        TlsCredentials creds = TlsCredentials.find(credsId, TlsCredentials.Endpoint.SERVER);
        SSLContext ctx = creds.context(null);
        return (in, out) -> {
            SSLEngine engine = ctx.createSSLEngine();
            engine.setUseClientMode(false);
            engine.setNeedClientAuth(creds.verifyPeer());
            return handshake(engine, in, out, "source");
        };
    }

    private static SocketSecurity.Streams handshake(SSLEngine engine, java.io.InputStream in, java.io.OutputStream out,
                                                    String peer) throws IOException {
        var c = new TlsConnection(engine, in, out, peer);
        try {
            c.handshake();
        } catch (SSLException e) {
            throw new IOException("TLS handshake failed: " + reason(e, peer), e);
        } catch (java.io.EOFException e) {
            throw new IOException("TLS handshake failed: the " + peer + " closed the connection", e);
        }
        return new SocketSecurity.Streams(c.in, c.out);
    }

    /** The innermost reason a person can act on: a certificate check of ours, or the peer's alert. */
    static String reason(Throwable e, String peer) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.security.cert.CertificateException && t.getMessage() != null
                    && (t.getMessage().contains("does not match") || t.getMessage().contains("is not signed"))) {
                return t.getMessage();
            }
        }
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        var alertMatch = java.util.regex.Pattern.compile("Received fatal alert: (\\w+)").matcher(m);
        if (alertMatch.find()) {
            String alert = alertMatch.group(1);
            return switch (alert) {
                case "bad_certificate", "certificate_unknown", "unknown_ca", "certificate_required",
                     "access_denied" -> "the " + peer + " refused this side's certificate (TLS alert " + alert + ")";
                default -> "the " + peer + " ended the handshake (TLS alert " + alert + ")";
            };
        }
        return m;
    }
}
