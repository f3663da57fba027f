"""Brokers (SPEC §8): the async broker port, hedgebot's broker errors, the one retry
policy, and the paper, Alpaca and Schwab adapters. Fake Alpaca and Schwab servers
for tests and the demo live in `hedgebot.brokers.fakes`."""
