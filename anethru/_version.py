"""The package version, alone in a leaf module: every layer may read it without importing the
package root (which would load the public names)."""

__version__ = "0.2.0"
