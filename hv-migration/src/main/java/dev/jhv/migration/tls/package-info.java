/**
 * TLS for migration sockets: QEMU's {@code tls-creds-x509} objects (a directory of PEM files), the JDK's SSLEngine
 * over a connection's streams, and the checks whose failures a person at the monitor must understand (which CA,
 * which host name).
 */
package dev.jhv.migration.tls;
