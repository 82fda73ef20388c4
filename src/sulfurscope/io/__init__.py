"""Readers: one module per vendor format, each returning the canonical cycler table + metadata."""

from sulfurscope.io._canonical import CyclerData, finalize_cycler_frame

__all__ = ["CyclerData", "finalize_cycler_frame"]
