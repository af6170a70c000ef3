package dev.jhv.migration.tls;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.util.Arrays;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** PEM keys in the forms certtool and openssl write, and the host-name match. */
class PemAndHostNameTest {
    @TempDir
    Path tmp;

    private static String pem(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
                + "\n-----END " + label + "-----\n";
    }

    /** The RSAPrivateKey inside a PKCS#8 RSA key: the OCTET STRING that ends it (long-form lengths). */
    private static byte[] pkcs1Of(byte[] pkcs8) {
        for (int at = 0; at < pkcs8.length - 4; at++) {
            if (pkcs8[at] == 0x04 && (pkcs8[at + 1] & 0xff) == 0x82) {
                int len = ((pkcs8[at + 2] & 0xff) << 8) | (pkcs8[at + 3] & 0xff);
                if (at + 4 + len == pkcs8.length) {
                    return Arrays.copyOfRange(pkcs8, at + 4, at + 4 + len);
                }
            }
        }
        throw new AssertionError("no OCTET STRING ends the key");
    }

    @Test
    void readsPkcs8AndPkcs1RsaKeys() throws Exception {
        var kp = KeyPairGenerator.getInstance("RSA");
        kp.initialize(2048);
        var key = kp.generateKeyPair().getPrivate();
        byte[] pkcs8 = key.getEncoded();
        Path p8 = tmp.resolve("k8.pem");
        Files.writeString(p8, "some text certtool writes first\n" + pem("PRIVATE KEY", pkcs8));
        assertThat(PemFiles.privateKey(p8).getEncoded()).isEqualTo(pkcs8);
        Path p1 = tmp.resolve("k1.pem");
        Files.writeString(p1, pem("RSA PRIVATE KEY", pkcs1Of(pkcs8)));
        assertThat(PemFiles.privateKey(p1).getEncoded()).isEqualTo(pkcs8);
    }

    @Test
    void readsEcKeysAndRefusesWhatItCannotUseByName() throws Exception {
        var kp = KeyPairGenerator.getInstance("EC");
        kp.initialize(256);
        byte[] der = kp.generateKeyPair().getPrivate().getEncoded();
        Path ec = tmp.resolve("ec.pem");
        Files.writeString(ec, pem("PRIVATE KEY", der));
        assertThat(PemFiles.privateKey(ec).getAlgorithm()).isEqualTo("EC");
        Path enc = tmp.resolve("enc.pem");
        Files.writeString(enc, pem("ENCRYPTED PRIVATE KEY", new byte[] {1, 2, 3}));
        assertThatThrownBy(() -> PemFiles.privateKey(enc)).hasMessageContaining(enc + ": the key is encrypted");
        assertThatThrownBy(() -> PemFiles.certificates(ec)).hasMessage(ec + ": no PEM certificate in it");
        assertThatThrownBy(() -> PemFiles.certificates(tmp.resolve("none.pem")))
                .hasMessageContaining("No such file or directory");
    }

    @Test
    void hostNamesMatchAsRfc6125Says() {
        assertThat(PeerCheck.matches("localhost", "LocalHost")).isTrue();
        assertThat(PeerCheck.matches("*.example.org", "dst.example.org")).isTrue();
        assertThat(PeerCheck.matches("*.example.org", "a.b.example.org")).isFalse();
        assertThat(PeerCheck.matches("*.example.org", "example.org")).isFalse();
        assertThat(PeerCheck.matches("127.0.0.1", "127.0.0.1")).isTrue();
        assertThat(PeerCheck.matches("localhost", "127.0.0.1")).isFalse();
        assertThat(PeerCheck.matches("localhost", "otherhost")).isFalse();
    }

    @Test
    void tlsCredsObjectsParseAsQemuSpellsThem() {
        var c = TlsCredentials.parse("tls-creds-x509,id=tls0,dir=" + tmp + ",endpoint=server");
        assertThat(c).isEqualTo(new TlsCredentials("tls0", tmp, TlsCredentials.Endpoint.SERVER, true));
        assertThat(TlsCredentials.parse("tls-creds-x509,id=c,dir=" + tmp + ",endpoint=client,verify-peer=off")
                .verifyPeer()).isFalse();
        assertThatThrownBy(() -> TlsCredentials.parse("tls-creds-x509,id=x,dir=" + tmp + ",endpoint=both"))
                .hasMessage("Parameter 'endpoint' does not accept value 'both'");
        assertThatThrownBy(() -> TlsCredentials.parse("tls-creds-x509,id=x,dir=" + tmp.resolve("nodir")))
                .hasMessageContaining("Unable to access credentials");
        TlsCredentials.define(c);
        assertThatThrownBy(() -> TlsCredentials.find("tls0", TlsCredentials.Endpoint.CLIENT))
                .hasMessage("Expecting TLS credentials with a client endpoint");
        assertThatThrownBy(() -> TlsCredentials.find("nosuch", TlsCredentials.Endpoint.CLIENT))
                .hasMessage("No TLS credentials with id 'nosuch'");
    }
}
