/**
 * virtio-net (virtio 1.2, 5.1): the device, its receive filter and control commands, the self-announcement after a
 * migration, and the MAC addresses of -device virtio-net-pci.
 */
package dev.jhv.virtio.net;
