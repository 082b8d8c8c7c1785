"""The files stages hand to each other, one module per on-disk format, each owning its schema, writer and reader.

``index`` (``llavamix index``'s memory-mappable file), ``webdataset`` and ``parquet`` (shard files), ``pack`` (a
pack folder: shard names, the manifest and plan that list the shards, reading any shard back), ``samples`` (a
packed record as writers take it and readers give it back), ``markers`` (completion markers, written last by every
stage that resumes).

Part of the foundation: a stage that writes a file and a stage that reads it both import the format from here,
never each other. Imports records, io, errors and extras only.
"""
