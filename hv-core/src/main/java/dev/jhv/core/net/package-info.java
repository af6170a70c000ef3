/** Network backends: the host side of a guest NIC (tap, passt's stream socket, libslirp). */
package dev.jhv.core.net;
