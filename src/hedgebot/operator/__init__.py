"""The operator surface shared by the CLI and the REST API (SPEC §11, §12).

* `reads`: paginated, filtered reads over the views and one aggregate's history,
  with their JSON forms (decimals as strings, RFC 3339 times);
* `actions`: the operator's writes — a manual broker order, a threshold change,
  resuming hedging, rebuilding views — always through the aggregates' command
  handlers (never raw SQL), so every change is an audited event;
* `context`: opening the store and the command handlers from ``--database-url`` or a
  configuration file.

Neither the CLI (`hedgebot.operator.commands`) nor the API (`hedgebot.api`) holds any
logic of its own beyond parsing and presenting.
"""
