"""Fix-ups of the laid-out mix: folder aliases the training scripts expect."""

from llavamix.mix.aliases import Alias, make_alias

__all__ = ["Alias", "make_alias"]
