"""The exceptions llavamix raises: configuration errors that stop a run, each with what to do about it."""

from __future__ import annotations


class LlavamixError(Exception):
    """Base class; the CLI turns it into a message and exit code 1."""


class ConfigError(LlavamixError):
    """A catalog, option or input file is wrong; the message says what to change."""


class UnsafePathError(ConfigError):
    """A catalog value or a record's path would resolve outside its base folder; the message names the value."""


class InUseError(ConfigError):
    """Another run holds the lock of a data root or downloads folder; the message names it and what to do."""


class MissingExtra(LlavamixError):
    """An optional dependency is not installed; the message names the extra."""


class FetchError(LlavamixError):
    """A download failed for good (after retries); the message says how to get the file by hand."""


class ChecksumError(FetchError):
    """Downloaded bytes do not match the catalog's size or digest."""


class UnsafeArchiveError(LlavamixError):
    """An archive member would land outside its target or is not a regular file or folder."""


class ArchiveLayoutError(LlavamixError):
    """An archive's members do not have the layout its recipe expects."""


class CorruptArchiveError(LlavamixError):
    """An archive cannot be read to the end (truncated, bad CRC, not the format its source says)."""


class DiskSpaceError(LlavamixError):
    """Not enough free disk space for an extraction."""


class MixFormatError(LlavamixError):
    """A mix JSON file is malformed; the message gives the byte offset and a snippet."""


class BadSampleError(LlavamixError):
    """A training sample cannot be built (missing or undecodable image, untrainable record); names id and path."""


class PackError(LlavamixError):
    """Records of a mix cannot be packed (e.g. missing images); the message names them and what to do."""
