"""The machine a measurement runs on: its fingerprint, its state (load, governor, thermal, GPU clocks) and whether it is fit to measure."""
