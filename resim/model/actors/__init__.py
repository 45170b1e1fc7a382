"""The supply chain's actors, one module each: mines, separators, magnet makers,
automakers and strategic stockpiles (which class simulates which scenario
table is declared in ``resim/registry.py``)."""

from .automaker import Automaker
from .magnet_maker import MagnetMaker
from .mine import Mine
from .separator import Separator
from .stockpile import Stockpile

__all__ = ["Automaker", "MagnetMaker", "Mine", "Separator", "Stockpile"]
