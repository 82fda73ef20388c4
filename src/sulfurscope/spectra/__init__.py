"""Spectra and thermal analysis: TGA (sulfur content); XPS, EELS, EDS and Raman to come."""

from sulfurscope.spectra.tga import TGAResult, sulfur_fraction

__all__ = ["TGAResult", "sulfur_fraction"]
