"""hedgebot: an event-sourced hedging bot for tokenized equities."""

__version__ = "0.1.0"
