"""The foundation every other part stands on; it imports nothing above it (no catalog, stage or entry point).

From the bottom up: ``errors`` (the exceptions, with advice); ``io`` (atomic writes, hashing, regular-file reads,
free space), ``layout`` (every path under a data root, and the escape check), ``tasks`` (the one resumable task
loop and its stop token), ``lock`` (one writer per data root), ``extras`` (optional dependencies), ``lazy`` (a
package's names imported on first use); ``records`` (the mix data model, its codec, record rules and reason codes)
and ``htmlpage``; ``formats`` (the files stages hand to each other, each owning its schema, writer and reader).
"""
