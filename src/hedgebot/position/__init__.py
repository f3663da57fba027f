"""Position: one aggregate per base symbol that accumulates onchain exposure and decides
the offsetting broker hedges (SPEC §4.2); `position_view` is its read model."""
