"""Profit and loss: FIFO lots per base symbol across both venues (SPEC §9)."""
