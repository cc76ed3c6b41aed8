"""Measuring: chains, calibration, stopping, interleaved rounds, the public run functions, sweeps, isolated workers and the host's state."""
