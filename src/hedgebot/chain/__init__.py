"""The chain side of hedgebot: Raindex orderbook logs → OnChainTrade (SPEC §7).

Modules, from the wire inwards:

* `abi` — event layouts of IOrderBookV5 / IOrderBookV4, topic hashes, Pyth selectors;
* `floats` — Rain ``Float`` (bytes32) → exact `Decimal`;
* `decoding` — one raw log → a typed event (eth_abi directly, no web3 contract objects);
* `fills` — pure fill → trade: owner filter, clear pairing, IO mapping, USDC side,
  amounts and price in `Decimal`, typed skip reasons;
* `rpc` — a small async JSON-RPC client with retries;
* `symbols` — ERC-20 ``symbol()`` per token address, cached;
* `ingest` / `follower` — ``eth_getLogs`` over block ranges, confirmation depth,
  checkpoint, one ``OnChainTrade.Witness`` per fill;
* `pyth` / `enrichment` — gas from the receipt, the Pyth price from the call trace.
"""
