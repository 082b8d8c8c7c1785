"""Prove every record of a mix is trainable: record checks, image checks, the report, the clean JSON, the HTML page.

The rules and reason codes themselves are the foundation's (``records``), so pack applies the same ones. A stage:
imports the catalog and the foundation only, never another stage."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llavamix.foundation.records.problem import Problem
    from llavamix.foundation.records.reasons import ERRORS, REASONS, WARNINGS, is_error
    from llavamix.foundation.records.rules import Finding, check_record
    from llavamix.verify.clean import write_clean
    from llavamix.verify.html import write_html
    from llavamix.verify.images import DEFAULT_MAX_PIXELS, DEFAULT_TINY, ImageCheck, inspect_image
    from llavamix.verify.report import SourceCount, VerifyReport
    from llavamix.verify.run import VerifyOptions, verify_mix
else:  # each name above is imported on first use, so importing the package costs nothing
    from llavamix.foundation.lazy import lazy_exports

    __getattr__, __dir__, __all__ = lazy_exports(__name__)
