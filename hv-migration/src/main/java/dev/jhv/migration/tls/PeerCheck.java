package dev.jhv.migration.tls;

import java.net.InetAddress;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Checks the peer's certificate: signed by the CA of the credentials (PKIX), and, on a client, issued for the host
 * name the migration connects to (tls-hostname, else the URI's host). Its refusals name the CA file and the names.
 */
final class PeerCheck implements javax.net.ssl.X509TrustManager {
    private final javax.net.ssl.X509TrustManager pkix;
    private final boolean verify;
    private final String hostname;
    private final Path caFile;

    PeerCheck(javax.net.ssl.X509TrustManager pkix, boolean verify, String hostname, Path caFile) {
        this.pkix = pkix;
        this.verify = verify;
        this.hostname = hostname;
        this.caFile = caFile;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        signed(chain, authType, true, "the source's");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        if (!verify) {
            return;
        }
        signed(chain, authType, false, "the destination's");
        if (hostname != null) {
            List<String> names = names(chain[0]);
            if (names.stream().noneMatch(n -> matches(n, hostname))) {
                throw new CertificateException("certificate for '" + String.join("', '", names)
                        + "' does not match the host name '" + hostname + "'");
            }
        }
    }

    private void signed(X509Certificate[] chain, String authType, boolean client, String whose)
            throws CertificateException {
        try {
            if (client) {
                pkix.checkClientTrusted(chain, authType);
            } else {
                pkix.checkServerTrusted(chain, authType);
            }
        } catch (CertificateException e) {
            throw new CertificateException(whose + " certificate (" + chain[0].getSubjectX500Principal().getName()
                    + ") is not signed by the CA in " + caFile, e);
        }
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
    }

    /** The DNS names and IP addresses a certificate is for; its subject's CN when it has neither. */
    static List<String> names(X509Certificate cert) {
        List<String> names = new ArrayList<>();
        try {
            var alt = cert.getSubjectAlternativeNames();
            if (alt != null) {
                for (List<?> entry : alt) {
                    int type = (Integer) entry.get(0);
                    if (type == 2 || type == 7) { // dNSName, iPAddress
                        names.add(String.valueOf(entry.get(1)));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // no usable names
        }
        if (names.isEmpty()) {
            for (String rdn : cert.getSubjectX500Principal().getName().split(",")) {
                if (rdn.startsWith("CN=")) {
                    names.add(rdn.substring(3));
                }
            }
        }
        return names;
    }

    /** RFC 6125's match: case-insensitive, a leading "*." stands for one label; IP addresses compared as such. */
    static boolean matches(String name, String host) {
        String n = name.toLowerCase(Locale.ROOT);
        String h = host.toLowerCase(Locale.ROOT);
        if (isIp(n) || isIp(h)) {
            try {
                return isIp(n) && isIp(h) && InetAddress.getByName(n).equals(InetAddress.getByName(h));
            } catch (java.net.UnknownHostException e) {
                return false;
            }
        }
        if (n.startsWith("*.")) {
            int dot = h.indexOf('.');
            return dot > 0 && h.substring(dot).equals(n.substring(1));
        }
        return n.equals(h);
    }

    private static boolean isIp(String s) {
        return s.matches("[0-9.]+") || s.contains(":");
    }
}
