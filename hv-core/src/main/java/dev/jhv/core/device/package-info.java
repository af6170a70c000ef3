/** The device model: lifecycle ({@link dev.jhv.core.device.Device}) and state records ({@link dev.jhv.core.device.Stateful}). */
package dev.jhv.core.device;
