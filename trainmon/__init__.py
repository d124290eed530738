"""trainmon: a terminal monitor for training runs that reads plain stdout logs."""

__version__ = "0.1.0"
