"""llavamix: acquire, verify, describe and serve the Open-LLaVA-NeXT training data."""

__version__ = "0.1.0"
