"""Results as data: ceiling, suite and sweep documents, their derivation, statistics, fit, schema, loader and comparison; never imports rendering."""
