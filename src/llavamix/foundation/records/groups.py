"""The names reports group records under when no image path names their source: ``TEXT_ONLY`` (no image key) and
``UNKNOWN`` (an image that is null or not a string, or a record that is not an object); the ``by_source`` tables of
verify and stats use them alike."""

TEXT_ONLY = "text-only"
UNKNOWN = "?"
