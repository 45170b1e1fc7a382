"""The supply chain's actor kinds, one module each: mines, separators, magnet
makers, automakers and strategic stockpiles. Each module declares its
scenario table, its actor and its registration; the registry
(``resim/scenario/registry.py``) imports every module of this package the
first time it is read, so a new kind is a new module here and nothing else."""

from .automaker import Automaker
from .magnet_maker import MagnetMaker
from .mine import Mine
from .separator import Separator
from .stockpile import Stockpile

__all__ = ["Automaker", "MagnetMaker", "Mine", "Separator", "Stockpile"]
