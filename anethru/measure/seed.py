"""The seed experiment's settings: its three configurations (channels x spatial) and its chain
length. A leaf module: the command line's help can name them without loading the native core."""

SEED_CONFIGS = ((64, 32), (256, 64), (768, 256))
SEED_KERNELS = 12
